#!/usr/bin/env node
// Runs as each public package's `prepack` (pnpm pack, pnpm publish, changeset publish), in
// the package's directory: builds it and the workspace packages it depends on (turbo
// skips what is up to date), and copies the repository's LICENSE next to its package.json
// so the tarball carries it.
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { name } = JSON.parse(readFileSync("package.json", "utf8"));
try {
  execFileSync(
    join(root, "node_modules/.bin/turbo"),
    ["run", "build", `--filter=${name}...`, "--output-logs=errors-only"],
    { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
} catch (error) {
  process.stderr.write(`${error.stdout ?? ""}${error.stderr ?? ""}`);
  process.exit(1);
}
copyFileSync(join(root, "LICENSE"), "LICENSE");
