/**
 * Writes the protocol's JSON Schema to `schema/lifeline.v1.json` at the repository root.
 * `--check` writes nothing and exits 1 when the committed file is out of date.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { toJsonSchema } from "../src/json-schema.js";

const target = resolve(dirname(fileURLToPath(import.meta.url)), "../../../schema/lifeline.v1.json");
const text = `${JSON.stringify(toJsonSchema(), null, 2)}\n`;

if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync(target, "utf8");
  } catch {}
  if (committed !== text) {
    console.error(`${target} is out of date: run \`pnpm --filter @lifeline/protocol schema\``);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  await mkdir(dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
