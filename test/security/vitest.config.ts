import { defineProject, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.ts";

/** Attacks on the server over real sockets and in a real browser. */
export default mergeConfig(
  shared,
  defineProject({ test: { name: "security", testTimeout: 60_000, hookTimeout: 60_000 } }),
);
