import { defineProject, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.ts";

/**
 * Node by default (server rendering); the files that mount components say
 * `@vitest-environment jsdom`. JSX compiles to React's automatic runtime, as in an app.
 */
export default mergeConfig(
  shared,
  defineProject({ test: { name: "react" }, esbuild: { jsx: "automatic" } }),
);
