import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "./support/repo.js";

// scripts/summary-reporter.ts and skipWithout together, on a real vitest run of
// fixtures/summary: per-project counts, every skipped test named, and under CI=true no run
// that skipped something (or whose dependency was missing) passes.

const config = join(root, "test/repo/fixtures/summary/vitest.config.ts");

/** Runs the fixture suite with `CI` set to `ci`; resolves with its exit code and output. */
function runFixtures(ci: string, args: string[]): Promise<{ code: number; output: string }> {
  // Without the variables of the vitest running this test, which would make the child a
  // worker of it.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST")),
  );
  return new Promise((resolve) => {
    execFile(
      join(root, "node_modules/.bin/vitest"),
      ["run", "--config", config, ...args],
      { cwd: root, env: { ...env, CI: ci, NO_COLOR: "1", FORCE_COLOR: "0" }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

const lines = (output: string): string[] => output.split("\n").map((line) => line.trimEnd());

describe.concurrent("the run's summary", { timeout: 90_000 }, () => {
  it("counts per project, names each skipped test, and fails a CI run that skipped one", async () => {
    const { code, output } = await runFixtures("true", ["--project", "alpha", "--project", "beta"]);
    expect(lines(output)).toEqual(
      expect.arrayContaining([
        "tests alpha: 1 passed, 0 failed, 1 skipped",
        "tests beta: 1 passed, 0 failed, 0 skipped",
        "tests: 2 passed, 0 failed, 1 skipped",
        "  alpha alpha/counts.fixture.ts > is skipped on purpose",
        "CI=true: 1 skipped test(s) fail the run (listed above)",
      ]),
    );
    expect(code).toBe(1);
  });

  it("passes off CI, with a test skipped for a missing program named and counted", async () => {
    const { code, output } = await runFixtures("false", []);
    expect(lines(output)).toEqual(
      expect.arrayContaining([
        "tests gamma: 0 passed, 0 failed, 1 skipped",
        "tests: 2 passed, 0 failed, 2 skipped",
        "  gamma gamma/needs-program.fixture.ts > with the frobnicator > runs",
      ]),
    );
    expect(output).toContain("[skipped] frobnicator unavailable: not on PATH");
    expect(output).not.toContain("CI=true:");
    expect(code).toBe(0);
  });

  it("fails a CI run whose program is missing, with the reason", async () => {
    const { code, output } = await runFixtures("true", ["--project", "gamma"]);
    expect(lines(output)).toContain("tests gamma: 0 passed, 1 failed, 0 skipped");
    expect(output).toContain(
      "frobnicator unavailable: not on PATH (CI=true: tests may not skip for a missing dependency)",
    );
    expect(code).toBe(1);
  });

  it("lets a CI run filtered by test name skip the rest", async () => {
    const { code, output } = await runFixtures("true", ["--project", "alpha", "-t", "passes"]);
    expect(lines(output)).toContain("tests alpha: 1 passed, 0 failed, 1 skipped");
    expect(output).not.toContain("CI=true:");
    expect(code).toBe(0);
  });
});
