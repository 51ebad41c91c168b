import { defaultServerConditions } from "vite";
import {
  configDefaults,
  defineConfig,
  defineProject,
  mergeConfig,
  type TestProjectInlineConfiguration,
} from "vitest/config";

/**
 * Settings every test project shares. Workspace packages resolve to their TypeScript
 * sources through the `@lifeline/source` export condition, so tests never need a build.
 */
export const shared = defineConfig({
  resolve: { conditions: ["@lifeline/source", ...defaultServerConditions] },
  ssr: { resolve: { conditions: ["@lifeline/source", ...defaultServerConditions] } },
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    restoreMocks: true,
  },
});

/** The wires a suite runs over again besides the default (WebSocket with JSON frames). */
const MATRIX_WIRES = ["msgpack", "sse"] as const;

/**
 * The projects of a wire matrix: `<name>-msgpack` and `<name>-sse` run `include` (minus
 * `exclude`) under `root` with `LIFELINE_TEST_WIRE` set, which the suite's test clients read
 * to pick their wire. The same files, not copies: the default project runs them over the
 * WebSocket with JSON.
 */
export function wireProjects(matrix: {
  readonly name: string;
  readonly root: string;
  readonly include: string[];
  readonly exclude?: string[];
}): TestProjectInlineConfiguration[] {
  return MATRIX_WIRES.map((wire) =>
    mergeConfig(
      shared,
      defineProject({
        root: matrix.root,
        test: {
          name: `${matrix.name}-${wire}`,
          include: matrix.include,
          exclude: [...configDefaults.exclude, ...(matrix.exclude ?? [])],
          env: { LIFELINE_TEST_WIRE: wire },
        },
      }),
    ),
  );
}
