import { fileURLToPath } from "node:url";
import { defineProject, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.ts";

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/**
 * Fault tests: real server processes, Redis, proxies and network namespaces. Files run one
 * at a time, and after every other project (group 1), so a reconnect storm's figures and the
 * heartbeat bounds are not skewed by another suite's load.
 * `test/` is not a workspace package, so the packages are aliased to their sources.
 */
export default mergeConfig(
  shared,
  defineProject({
    resolve: {
      alias: {
        "@lifeline/server": root("packages/server/src/index.ts"),
        "@lifeline/client": root("packages/client/src/node.ts"),
        "@lifeline/redis": root("packages/redis/src/index.ts"),
        ws: root("packages/server/node_modules/ws/wrapper.mjs"),
      },
    },
    test: {
      name: "chaos",
      testTimeout: 120_000,
      hookTimeout: 60_000,
      fileParallelism: false,
      sequence: { groupOrder: 1 },
    },
  }),
);
