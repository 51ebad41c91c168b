#!/usr/bin/env node
// Packs every public package as a release would (pnpm pack), checks each tarball (no
// `workspace:` range, LICENSE, source maps that resolve, publint, attw), installs the
// tarballs into a scratch project outside the workspace and uses them there the way a
// user would: an ESM script that runs a real server/client round trip, the root README's
// example, a TypeScript file type-checked against the shipped .d.ts, a browser bundle of
// the client, and every package README's example as written
// (scripts/packaging/readme-examples.mjs). This catches a wrong `exports` map, a missing
// file in `files`, a runtime import of a devDependency and an example that rotted.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkTypeOnlyContract } from "./packaging/contract-bundle.mjs";
import { freePort } from "./packaging/processes.mjs";
import { runReadmeExamples } from "./packaging/readme-examples.mjs";
import { checkContents, lint, pack } from "./packaging/tarballs.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const publicPackages = ["protocol", "backoff", "server", "client", "redis", "cli", "react"];
const scratch = mkdtempSync(join(tmpdir(), "lifeline-packaging-"));
const tarballs = join(scratch, "tarballs");
const project = join(scratch, "project");
mkdirSync(tarballs);
mkdirSync(project);

function run(command, args, cwd) {
  execFileSync(command, args, { cwd, stdio: ["ignore", "pipe", "inherit"] });
}

let passed = 0;
try {
  const packed = {};
  for (const name of publicPackages) {
    const tarball = pack(root, name, tarballs);
    const problems = checkContents(root, tarball);
    if (problems.length > 0) {
      throw new Error(`@lifeline/${name} tarball:\n  ${problems.join("\n  ")}`);
    }
    lint(root, tarball);
    packed[`@lifeline/${name}`] = tarball;
  }
  console.log(
    `packaging check: ${publicPackages.length} tarballs: no workspace: ranges, LICENSE, source maps resolve, publint and attw clean`,
  );
  passed++;
  const dependencies = Object.fromEntries(
    Object.entries(packed).map(([name, tarball]) => [name, `file:${tarball}`]),
  );
  // `ws` is the client's optional peer in Node 20; the @types are for the TypeScript check.
  dependencies.ws = "^8.18.0";
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify(
      {
        name: "lifeline-packaging-check",
        private: true,
        type: "module",
        dependencies,
        devDependencies: { "@types/node": "^20.0.0", "@types/ws": "^8.0.0" },
      },
      null,
      2,
    ),
  );
  run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
    project,
  );

  writeFileSync(
    join(project, "check.mjs"),
    `import assert from "node:assert/strict";
import { createSchedule, exponential, seededRandom } from "@lifeline/backoff";
import { createClient } from "@lifeline/client";
import { CloseCode, parseClientMessage } from "@lifeline/protocol";
import { createRedisBroker } from "@lifeline/redis";
import { createMemoryBroker, createServer } from "@lifeline/server";

assert.equal(typeof createRedisBroker, "function");
assert.equal(typeof createMemoryBroker, "function");
assert.equal(CloseCode.SessionReplaced, 4409);
assert.equal(parseClientMessage('{"type":"ping"}').ok, true);
assert.equal(typeof createSchedule(exponential(), { random: seededRandom(1) }).next(), "number");

const server = await createServer({ port: 0 });
server.method("echo", (params) => params);
const client = createClient({ url: \`ws://127.0.0.1:\${server.port}/ws\`, clientId: "packaging-check" });
try {
  const result = await client.request("echo", { hello: "world" });
  assert.deepEqual(result, { hello: "world" });
} finally {
  client.close();
  await server.close();
}
console.log("packaging check: ESM round trip ok");
`,
  );
  execFileSync(process.execPath, ["check.mjs"], {
    cwd: project,
    stdio: "inherit",
    timeout: 30_000,
  });
  passed++;

  // The root README's example, exactly as written there, on a free port.
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!example) throw new Error("README.md has no js example");
  const port = await freePort();
  writeFileSync(join(project, "example.mjs"), example.replaceAll("8080", String(port)));
  const output = execFileSync(process.execPath, ["example.mjs"], {
    cwd: project,
    encoding: "utf8",
    timeout: 30_000,
  });
  const ticks = /ticks received in order: ([\d,]+)/.exec(output)?.[1]?.split(",").map(Number);
  if (
    !ticks ||
    ticks.length === 0 ||
    ticks.some((offset, i) => i > 0 && offset !== ticks[i - 1] + 1)
  ) {
    throw new Error(`README example did not receive consecutive ticks:\n${output}`);
  }
  console.log(`packaging check: README example runs as written (${ticks.length} ticks in order)`);
  passed++;

  writeFileSync(
    join(project, "check.ts"),
    `import { createClient, type ClientState } from "@lifeline/client";
import { defineContract, type ServerMessage } from "@lifeline/protocol";
import { createServer, type LifelineServer } from "@lifeline/server";
import { createSchedule, exponential, type Schedule } from "@lifeline/backoff";
import type { Broker } from "@lifeline/server";

const schedule: Schedule = createSchedule(exponential());
const server: Promise<LifelineServer> = createServer({ port: 0 });
const client = createClient({ url: "ws://127.0.0.1:1/ws", lazy: true });
const state: ClientState = client.state.getSnapshot();
const message: ServerMessage = { type: "ping" };
const contract = defineContract({ topics: {}, methods: {} });
export { schedule, server, state, message, contract };
export type { Broker };
`,
  );
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ["node"],
      },
      files: ["check.ts"],
    }),
  );
  run(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"],
    project,
  );
  console.log("packaging check: TypeScript types resolve");
  passed++;

  const esbuild = await import(join(root, "node_modules/esbuild/lib/main.js"));
  writeFileSync(join(project, "browser.mjs"), `export { createClient } from "@lifeline/client";\n`);
  const bundle = await esbuild.build({
    entryPoints: [join(project, "browser.mjs")],
    absWorkingDir: project,
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(bundle.metafile.inputs);
  const offending = inputs.filter((input) => /node_modules\/ws\/|^node:/.test(input));
  if (offending.length > 0) throw new Error(`browser bundle pulls in ${offending.join(", ")}`);
  console.log("packaging check: browser bundle has no Node built-ins");
  passed++;

  await checkTypeOnlyContract({ esbuild, project });
  passed++;

  // The client README's example runs against the demo server (`pnpm demo`).
  run(
    join(root, "node_modules/.bin/turbo"),
    ["run", "build", "--filter=@lifeline/demo-server..."],
    root,
  );
  passed += (await runReadmeExamples({ root, scratch, tarballs: packed })).length;
  console.log(`packaging check: ${passed} passed, 0 failed`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
