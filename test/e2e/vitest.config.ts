import { defineProject, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.ts";

/** Browser tests: Debian's chromium driven by playwright-core against the real demo server. */
export default mergeConfig(
  shared,
  defineProject({ test: { name: "e2e", testTimeout: 90_000, hookTimeout: 120_000 } }),
);
