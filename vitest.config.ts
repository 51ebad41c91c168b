import { defineConfig } from "vitest/config";
import clientWires from "./packages/client/vitest.matrix.ts";
import serverWires from "./packages/server/vitest.matrix.ts";

export default defineConfig({
  test: {
    projects: [
      "packages/*",
      "apps/*",
      "test/*",
      "examples/*/vitest.config.ts",
      "bench",
      // The server's and the client's suites again over each other wire (vitest.matrix.ts).
      ...serverWires,
      ...clientWires,
    ],
    reporters: ["default", "./scripts/summary-reporter.ts"],
  },
});
