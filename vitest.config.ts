import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*", "test/*", "bench"],
    reporters: ["default", "./scripts/summary-reporter.ts"],
  },
});
