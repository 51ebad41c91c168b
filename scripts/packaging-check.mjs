#!/usr/bin/env node
// Packs every public package, installs the tarballs into a scratch project outside the
// workspace and uses them there the way a user would: an ESM script that runs a real
// server/client round trip, a TypeScript file type-checked against the shipped .d.ts,
// and a browser bundle of the client. This catches a wrong `exports` map, a missing
// file in `files`, and a runtime import of a devDependency.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const publicPackages = ["protocol", "backoff", "server", "client", "redis"];
const scratch = mkdtempSync(join(tmpdir(), "lifeline-packaging-"));
const tarballs = join(scratch, "tarballs");
const project = join(scratch, "project");
mkdirSync(tarballs);
mkdirSync(project);

function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createNetServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

function run(command, args, cwd) {
  execFileSync(command, args, { cwd, stdio: ["ignore", "pipe", "inherit"] });
}

try {
  for (const name of publicPackages) {
    run("pnpm", ["pack", "--pack-destination", tarballs], join(root, "packages", name));
  }
  const files = readdirSync(tarballs);
  const dependencies = Object.fromEntries(
    publicPackages.map((name) => {
      const file = files.find((f) => f.startsWith(`lifeline-${name}-`));
      if (!file) throw new Error(`no tarball for @lifeline/${name} in ${files.join(", ")}`);
      return [`@lifeline/${name}`, `file:${join(tarballs, file)}`];
    }),
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
  console.log("packaging check: 4 passed, 0 failed");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
