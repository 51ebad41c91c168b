import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { read, root } from "./support/repo.js";

// Tests use the packages they test by name, as users do (CONTRIBUTING.md, "Testing a
// change"): a test or test configuration never reaches by path into another workspace
// package, nor into anyone's node_modules. Files at the repository's root (PROTOCOL.md,
// schema/, vitest.shared.ts, scripts/) are everyone's.

/** Reaches across packages that are documented as such. */
const ALLOWED = new Map([
  // React 18's project runs the React package's own DOM tests again (CONTRIBUTING.md).
  ["test/react-18/vitest.config.ts", ["packages/react/test/"]],
]);
const SKIPPED_DIRS = new Set(["node_modules", "dist", ".next", "test-output", "results"]);

/** The workspace packages' directories, from pnpm-workspace.yaml (`dir/*` or `dir`). */
function workspaceDirs(): string[] {
  const globs = [...read("pnpm-workspace.yaml").matchAll(/^\s+-\s*["']?([^"'\n]+)["']?$/gm)].map(
    ([, glob]) => (glob ?? "").trim(),
  );
  return globs.flatMap((glob) =>
    glob.endsWith("/*")
      ? readdirSync(join(root, glob.slice(0, -2)), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => `${glob.slice(0, -2)}/${entry.name}`)
      : [glob],
  );
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(path);
    return /\.(c|m)?[jt]sx?$/.test(entry.name) ? [path] : [];
  });
}

/** A package's test code: its test folder, and its vitest configuration. */
function testFiles(dir: string): string[] {
  const configs = ["vitest.config.ts", "vitest.matrix.ts"]
    .map((name) => `${dir}/${name}`)
    .filter((path) => existsSync(join(root, path)));
  // The suites under test/ are test code throughout.
  const tests = dir.startsWith("test/") ? sourceFiles(dir) : sourceFiles(`${dir}/test`);
  return [...new Set([...configs, ...tests])];
}

/** Every relative path a file names in a string literal, resolved from the root. */
function relativePaths(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  return [...text.matchAll(/["'`](\.\.?\/[^"'`$\n]*)["'`]/g)].map(([, path]) =>
    relative(root, resolve(root, dirname(file), path ?? "")),
  );
}

function crossings(dirs: readonly string[]): string[] {
  const owner = (path: string) =>
    dirs
      .filter((dir) => path === dir || path.startsWith(`${dir}/`))
      .sort()
      .at(-1);
  const found: string[] = [];
  for (const dir of dirs) {
    for (const file of testFiles(dir)) {
      for (const target of relativePaths(file)) {
        const allowed = (ALLOWED.get(file) ?? []).some((prefix) => target.startsWith(prefix));
        const foreign = owner(target) !== undefined && owner(target) !== dir;
        if (!allowed && (foreign || target.split("/").includes("node_modules"))) {
          found.push(`${file} -> ${target}`);
        }
      }
    }
  }
  return found;
}

describe("test code", () => {
  const dirs = workspaceDirs();

  it("finds the workspace's packages and their tests", () => {
    expect(dirs).toEqual(expect.arrayContaining(["packages/server", "apps/demo-server", "bench"]));
    expect(testFiles("packages/server").length).toBeGreaterThan(20);
  });

  it("never reaches into another workspace package or a node_modules by path", () => {
    expect(crossings(dirs)).toEqual([]);
  });

  it("would notice a test that did (the check itself works)", () => {
    expect(relativePaths("test/react-18/vitest.config.ts")).toContain(
      "packages/react/test/*.dom.test.tsx",
    );
    const withoutAllowance = crossings(["test/react-18", "packages/react"]).length;
    ALLOWED.delete("test/react-18/vitest.config.ts");
    try {
      expect(crossings(["test/react-18", "packages/react"]).length).toBeGreaterThan(
        withoutAllowance,
      );
    } finally {
      ALLOWED.set("test/react-18/vitest.config.ts", ["packages/react/test/"]);
    }
  });
});
