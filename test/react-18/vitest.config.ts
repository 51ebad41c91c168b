import { defineProject, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.ts";

/**
 * The @lifeline/react tests run again here, under React 18.3 (this package's `react`,
 * `react-dom` and `@testing-library/react`): `dedupe` resolves those from this directory
 * for every file, the package's own sources and tests included.
 */
export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: "react-18",
      include: [
        "*.test.ts",
        "../../packages/react/test/*.dom.test.tsx",
        "../../packages/react/test/server-rendering.test.tsx",
      ],
    },
    resolve: { dedupe: ["react", "react-dom", "@testing-library/react"] },
    esbuild: { jsx: "automatic" },
  }),
);
