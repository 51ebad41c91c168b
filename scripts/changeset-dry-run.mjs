#!/usr/bin/env node
// Runs `changeset version` on a scratch copy of the workspace's manifests and pending
// changesets, then checks that every public package lands on the version its changesets
// ask for. A peer dependency between linked packages once turned every minor into a
// 1.0.0 here; this fails before a release pull request would show it.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
const order = ["none", "patch", "minor", "major"];

/** Workspace package directories, from the globs in pnpm-workspace.yaml (`dir/*` or `dir`). */
function workspaceDirs() {
  const yaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const block = /^packages:\n((?:\s+-.*\n?)+)/m.exec(yaml)?.[1] ?? "";
  const globs = [...block.matchAll(/-\s*["']?([^"'\n]+)["']?/g)].map((m) => m[1].trim());
  return globs.flatMap((glob) =>
    glob.endsWith("/*")
      ? readdirSync(join(root, glob.slice(0, -2)), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => join(glob.slice(0, -2), entry.name))
      : [glob],
  );
}

/** The highest bump each pending changeset asks for, per package name. */
function declaredBumps(changesetDir) {
  const bumps = new Map();
  for (const file of readdirSync(changesetDir)) {
    if (!file.endsWith(".md") || file === "README.md") continue;
    const text = readFileSync(join(changesetDir, file), "utf8");
    const front = /^---\n([\s\S]*?)\n---\n/.exec(text)?.[1];
    if (front === undefined) throw new Error(`.changeset/${file} has no front matter`);
    for (const line of front.split("\n").filter((l) => l.trim() !== "")) {
      const match = /^["']?([^"':]+)["']?\s*:\s*(patch|minor|major)\s*$/.exec(line);
      if (!match) throw new Error(`.changeset/${file}: cannot read "${line}"`);
      const [, name, type] = match;
      if (order.indexOf(type) > order.indexOf(bumps.get(name) ?? "none")) bumps.set(name, type);
    }
  }
  return bumps;
}

function bump(version, type) {
  const [major, minor, patch] = version.split(".").map(Number);
  if (type === "major") return `${major + 1}.0.0`;
  if (type === "minor") return `${major}.${minor + 1}.0`;
  if (type === "patch") return `${major}.${minor}.${patch + 1}`;
  return version;
}

const config = readJson(join(root, ".changeset/config.json"));
const dirs = workspaceDirs().filter((dir) => existsSync(join(root, dir, "package.json")));
const manifests = new Map(dirs.map((dir) => [dir, readJson(join(root, dir, "package.json"))]));
const publicDirs = dirs.filter((dir) => manifests.get(dir).private !== true);
const bumps = declaredBumps(join(root, ".changeset"));

// What the changesets ask for: each package's own highest bump, raised to the highest of its
// linked group (linked packages share the highest bump type among those being released).
const expected = new Map();
for (const dir of publicDirs) {
  const { name, version } = manifests.get(dir);
  const group = (config.linked ?? []).find((names) => names.includes(name)) ?? [name];
  const own = bumps.get(name) ?? "none";
  const groupType =
    own === "none"
      ? own
      : group.reduce(
          (highest, member) =>
            order.indexOf(bumps.get(member) ?? "none") > order.indexOf(highest)
              ? bumps.get(member)
              : highest,
          own,
        );
  expected.set(name, { from: version, to: bump(version, groupType), own });
}

const scratch = mkdtempSync(join(tmpdir(), "lifeline-changeset-"));
try {
  for (const file of ["package.json", "pnpm-workspace.yaml"]) {
    cpSync(join(root, file), join(scratch, file));
  }
  cpSync(join(root, ".changeset"), join(scratch, ".changeset"), { recursive: true });
  for (const dir of dirs) {
    mkdirSync(join(scratch, dir), { recursive: true });
    cpSync(join(root, dir, "package.json"), join(scratch, dir, "package.json"));
  }
  // The changelog generator named in .changeset/config.json resolves from here.
  symlinkSync(join(root, "node_modules"), join(scratch, "node_modules"), "dir");
  execFileSync(join(root, "node_modules/.bin/changeset"), ["version"], {
    cwd: scratch,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "true" },
  });

  const failures = [];
  for (const dir of publicDirs) {
    const { name, version } = readJson(join(scratch, dir, "package.json"));
    const want = expected.get(name);
    const unasked = want.own === "none" && version !== want.from;
    const ok =
      want.own === "none" ? !unasked || bump(want.from, "patch") === version : version === want.to;
    const line = `${name}: ${want.from} -> ${version}`;
    if (!ok) failures.push(`${line} (changesets ask for ${want.to})`);
    else if (
      Number(version.split(".")[0]) > Number(want.from.split(".")[0]) &&
      want.own !== "major"
    )
      failures.push(`${line} (a major bump nobody asked for)`);
    else console.log(`changeset dry run: ${line}`);
  }
  if (failures.length > 0) {
    throw new Error(`changeset version gives unintended versions:\n  ${failures.join("\n  ")}`);
  }
  console.log(`changeset dry run: ${publicDirs.length} packages on their intended versions`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
