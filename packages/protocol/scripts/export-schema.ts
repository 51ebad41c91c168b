/**
 * Writes what is generated from the protocol's TypeBox schemas: the JSON Schema
 * `schema/lifeline.v1.json` at the repository root and the ahead-of-time compiled
 * validators `src/generated/validators.ts` (see generate-validators.ts).
 * `--check` writes nothing and exits 1 when a committed file is out of date.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { toJsonSchema } from "../src/json-schema.js";
import { VALIDATORS_PATH, validatorsSource } from "./generate-validators.js";

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const targets = [
  {
    path: resolve(packageRoot, "../../schema/lifeline.v1.json"),
    text: `${JSON.stringify(toJsonSchema(), null, 2)}\n`,
  },
  { path: resolve(packageRoot, VALIDATORS_PATH), text: validatorsSource() },
];

if (process.argv.includes("--check")) {
  let stale = false;
  for (const { path, text } of targets) {
    let committed = "";
    try {
      committed = readFileSync(path, "utf8");
    } catch {}
    if (committed === text) {
      console.log(`${path} is up to date`);
    } else {
      console.error(`${path} is out of date: run \`pnpm --filter @lifeline/protocol schema\``);
      stale = true;
    }
  }
  if (stale) process.exit(1);
} else {
  for (const { path, text } of targets) {
    await mkdir(dirname(path), { recursive: true });
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}
