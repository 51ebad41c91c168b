import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
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
