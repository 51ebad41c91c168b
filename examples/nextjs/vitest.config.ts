import { defineProject, mergeConfig } from "vitest/config";
import { shared } from "../../vitest.shared.ts";

export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: "example-nextjs",
      // Next's development server compiles the page on the first request: seconds, more
      // on a loaded machine.
      testTimeout: 120_000,
      // The test talks to 127.0.0.1 only: no anonymous usage report to Next's telemetry.
      env: { NEXT_TELEMETRY_DISABLED: "1" },
    },
  }),
);
