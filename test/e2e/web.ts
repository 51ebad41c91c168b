import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { build } from "vite";

const require = createRequire(import.meta.url);

/** The directory of a workspace package this suite depends on, found as Node finds it. */
export function packageDir(name: "@lifeline/demo-server" | "@lifeline/demo-web"): string {
  return `${dirname(require.resolve(`${name}/package.json`))}/`;
}

/** Screenshots and built pages, under the repository's ignored `test-output/`. */
export const output = fileURLToPath(new URL("../../test-output/e2e/", import.meta.url));

/**
 * Builds the dashboard from its current sources into `test-output/e2e/<name>/`, so a test
 * never runs against a stale `apps/demo-web/dist` (test files run in parallel: one
 * directory each).
 */
export async function buildWeb(name: string): Promise<string> {
  const outDir = `${output}${name}/`;
  await build({
    root: packageDir("@lifeline/demo-web"),
    logLevel: "warn",
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
  return outDir;
}

/** The ticks panel's counts (apps/demo-web/src/tick-counter.ts). */
export interface TickCounts {
  readonly received: number;
  readonly gaps: number;
  readonly duplicates: number;
  readonly resets: number;
  readonly last: number;
}

/** What the tests read from the dashboard through `window.lifelineDemo` and the panels. */
export interface Dashboard {
  /** The ticks panel's counts now. */
  counts(): Promise<TickCounts>;
  /** The page client's `clientId`. */
  clientId(): Promise<string>;
  /** Waits until the ticks panel has counted at least `n` ticks. */
  receivedAtLeast(n: number, timeoutMs?: number): Promise<void>;
}

export function dashboard(page: Page): Dashboard {
  type Demo = { lifelineDemo: { client: { clientId: string }; ticks: { counts(): TickCounts } } };
  return {
    counts: () => page.evaluate(() => (window as unknown as Demo).lifelineDemo.ticks.counts()),
    clientId: () => page.evaluate(() => (window as unknown as Demo).lifelineDemo.client.clientId),
    async receivedAtLeast(n, timeoutMs = 20_000) {
      await page.waitForFunction(
        (target) =>
          Number(document.querySelector('[data-testid="ticks-received"]')?.textContent) >= target,
        n,
        { timeout: timeoutMs },
      );
    },
  };
}
