import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*", "test/*", "examples/*/vitest.config.ts", "bench"],
    reporters: ["default", "./scripts/summary-reporter.ts"],
  },
});
