import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

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
