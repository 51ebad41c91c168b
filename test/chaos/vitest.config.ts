import { defineProject, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.ts";

/**
 * Fault tests: real server processes, Redis, proxies and network namespaces. Files run one
 * at a time, and after every other project (group 1), so a reconnect storm's figures and the
 * heartbeat bounds are not skewed by another suite's load.
 */
export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: "chaos",
      testTimeout: 120_000,
      hookTimeout: 60_000,
      fileParallelism: false,
      sequence: { groupOrder: 1 },
    },
  }),
);
