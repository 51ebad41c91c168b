import { fileURLToPath } from "node:url";
import { defineProject, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.ts";

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/**
 * Attacks on the server over real sockets and in a real browser. `test/` is not a
 * workspace package, so the packages (and the libraries only they depend on) are aliased.
 */
export default mergeConfig(
  shared,
  defineProject({
    resolve: {
      alias: {
        "@lifeline/server": root("packages/server/src/index.ts"),
        "@lifeline/client": root("packages/client/src/node.ts"),
        "@lifeline/protocol": root("packages/protocol/src/index.ts"),
        ws: root("packages/server/node_modules/ws/wrapper.mjs"),
        pino: root("packages/server/node_modules/pino/pino.js"),
      },
    },
    test: { name: "security", testTimeout: 60_000, hookTimeout: 60_000 },
  }),
);
