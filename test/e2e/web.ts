import { fileURLToPath } from "node:url";
import { build } from "vite";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const output = `${root}test-output/e2e/`;

/**
 * Builds the dashboard from its current sources into `test-output/e2e/<name>/`, so a test
 * never runs against a stale `apps/demo-web/dist` (test files run in parallel: one
 * directory each).
 */
export async function buildWeb(name: string): Promise<string> {
  const outDir = `${output}${name}/`;
  await build({
    root: `${root}apps/demo-web`,
    logLevel: "warn",
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
  return outDir;
}
