// Runs every public package README's main example exactly as written, from the packed
// tarballs, in a project outside the workspace that installs only what the README's own
// install lines name. It installs with pnpm, whose strict node_modules fails an import the
// install line forgot (npm's hoisting would hide it). The example is the fenced block
// after the line `<!-- packaging-check: example -->`; what the example needs (a server to
// connect to, Redis) is started here on free ports and passed through the environment
// variables the example reads.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, run, startProcess } from "./processes.mjs";

const MARKER = "<!-- packaging-check: example -->";

/** The example block and the packages named by `pnpm add` / `npm install` lines before it. */
export function readExample(readme) {
  const at = readme.indexOf(MARKER);
  if (at === -1) throw new Error(`no "${MARKER}" line`);
  const block = /```\w*\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  if (block === undefined) throw new Error(`no fenced block after "${MARKER}"`);
  const installs = [];
  for (const [, sh] of readme.slice(0, at).matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of sh.split("\n")) {
      const words = /^\s*(?:pnpm add|npm install)\s+([^#]+)/.exec(line)?.[1];
      if (words) installs.push(...words.trim().split(/\s+/));
    }
  }
  if (installs.length === 0) throw new Error("no install line before the example");
  return { code: block, installs };
}

/** A fresh project with the README's install lines applied, @lifeline/* from the tarballs. */
function install(scratch, name, installs, tarballs) {
  const project = join(scratch, `readme-${name}`);
  mkdirSync(project);
  const overrides = Object.fromEntries(
    Object.entries(tarballs).map(([pkg, tarball]) => [pkg, `file:${tarball}`]),
  );
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: `readme-${name}`, private: true, type: "module", pnpm: { overrides } }),
  );
  const specs = installs.map((pkg) => (tarballs[pkg] ? `${pkg}@file:${tarballs[pkg]}` : pkg));
  run("pnpm", ["add", "--prefer-offline", "--reporter=silent", ...specs], project);
  return project;
}

function expectOutput(label, output, patterns) {
  for (const pattern of patterns) {
    if (!pattern.test(output)) throw new Error(`${label}: output lacks ${pattern}:\n${output}`);
  }
}

/**
 * How each README says to run its example, and what its output must show. `.ts` and `.tsx`
 * files run under tsx, as the READMEs say (`npx tsx file.ts` / `node --import tsx file.ts`);
 * `.sh` files (shell commands) under `sh`. `files` are project files the README states
 * rather than shows (a `tsconfig.json` setting).
 */
const runners = {
  protocol: {
    file: "example.ts",
    expect: [/subscribe to telescope\/seestar-001\/status/, /invalid_message/, /\{ ok: true \}/],
  },
  backoff: { file: "example.mjs", expect: [/^done 3$/m] },
  server: {
    file: "example.ts",
    env: async () => ({ PORT: String(await freePort()) }),
    expect: [/type: 'response'/, /type: 'subscribed'/, /offset: 2/, /type: 'shutdown'/],
  },
  client: {
    file: "example.mjs",
    // The README runs it against `pnpm demo`: start the demo server on a free port.
    needs: (ctx) => startDemo(ctx.root),
    env: async (_ctx, demo) => ({ LIFELINE_URL: demo.wsUrl }),
    expect: [/connecting -> open/, /tick 1 /, /appended at \d+/, /server_time/],
    timeoutMs: 30_000,
  },
  cli: {
    file: "example.sh",
    // The README runs its commands against `pnpm demo`, like the client's.
    needs: (ctx) => startDemo(ctx.root),
    env: async (_ctx, demo) => ({ LIFELINE_URL: demo.wsUrl }),
    expect: [
      /^health +ok \(HTTP 200\)/m,
      /(?:^\{"topic":"demo\/ticks","offset":\d+,"epoch":"[^"]+","data":.*\n){3}/m,
      /^\{"topic":"demo\/notes","offset":\d+,"epoch":"[^"]+"\}$/m,
      /^\{"server_time":"[^"]+","epoch_ms":\d+\}$/m,
    ],
    timeoutMs: 60_000,
  },
  react: {
    file: "example.tsx",
    // The README: "As in any React project, `tsconfig.json` says `"jsx": "react-jsx"`".
    files: { "tsconfig.json": JSON.stringify({ compilerOptions: { jsx: "react-jsx" } }) },
    // Against `pnpm demo`, like the client's: server rendering, then hydration in happy-dom.
    needs: (ctx) => startDemo(ctx.root),
    env: async (_ctx, demo) => ({ LIFELINE_URL: demo.wsUrl }),
    expect: [
      /^server rendered: <main><p>connection: <!-- -->idle<\/p>/m,
      /^rendered: connection: open \| ticks: \d+, \d+, \d+ \| time: idle$/m,
      /^rendered: connection: open \| .* \| time: \{"server_time":"[^"]+"/m,
    ],
    timeoutMs: 30_000,
  },
  redis: {
    file: "cluster-node.ts",
    needs: () => startRedis(),
    custom: runRedisExample,
  },
};

async function startDemo(root) {
  const demo = startProcess(process.execPath, [join(root, "apps/demo-server/dist/main.js")], {
    cwd: root,
    env: { PORT: "0", LOG_LEVEL: "warn" },
    label: "demo server",
  });
  const [, port] = await demo.waitFor(/Lifeline observatory demo: http:\/\/[^\s/]+:(\d+)\//);
  return { wsUrl: `ws://127.0.0.1:${port}/ws`, stop: () => demo.stop("SIGTERM") };
}

async function startRedis() {
  const port = await freePort();
  const redis = startProcess(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { label: "redis-server" },
  );
  await redis.waitFor(/Ready to accept connections/);
  return { url: `redis://127.0.0.1:${port}`, stop: () => redis.stop("SIGTERM") };
}

/**
 * The redis README runs the file twice, with two ports against one Redis: one node takes
 * the lease, and Ctrl-C (SIGINT) closes each node cleanly, so the process exits by itself.
 */
async function runRedisExample(project, file, ctx, redis) {
  const nodes = [];
  try {
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      nodes.push(
        startProcess(ctx.tsx, [file], {
          cwd: project,
          env: { PORT: String(port), REDIS_URL: redis.url },
          label: `redis example node ${i + 1}`,
        }),
      );
    }
    await Promise.any(nodes.map((node) => node.waitFor(/held: true/)));
    // Counted before stopping: once the holder closes its lease, the other node takes it
    // over (as the README promises), so afterwards both may have printed it.
    const holders = nodes.filter((node) => /held: true/.test(node.output)).length;
    if (holders !== 1) throw new Error(`${holders} nodes held the lease at once`);
    for (const node of nodes) {
      const { code, signal } = await node.stop("SIGINT");
      if (code !== 0)
        throw new Error(`a node exited with ${code ?? signal} after SIGINT:\n${node.output}`);
    }
  } finally {
    for (const node of nodes) await node.stop("SIGKILL");
  }
}

/**
 * Runs each README's example (or those of the packages in `only`); returns the names that
 * passed. Throws on the first failure.
 */
export async function runReadmeExamples({ root, scratch, tarballs, only }) {
  const tsx = join(root, "node_modules/.bin/tsx");
  const ctx = { root, tsx };
  const passed = [];
  for (const [name, runner] of Object.entries(runners)) {
    if (only !== undefined && !only.includes(name)) continue;
    const readme = readFileSync(join(root, "packages", name, "README.md"), "utf8");
    const label = `packages/${name}/README.md example`;
    let example;
    try {
      example = readExample(readme);
    } catch (error) {
      throw new Error(`${label}: ${error.message}`);
    }
    const project = install(scratch, name, example.installs, tarballs);
    writeFileSync(join(project, runner.file), example.code);
    for (const [file, text] of Object.entries(runner.files ?? {})) {
      writeFileSync(join(project, file), text);
    }
    const needed = runner.needs ? await runner.needs(ctx) : undefined;
    try {
      if (runner.custom) {
        await runner.custom(project, runner.file, ctx, needed);
      } else {
        const env = runner.env ? await runner.env(ctx, needed) : {};
        const [command, args] = /\.tsx?$/.test(runner.file)
          ? [tsx, [runner.file]]
          : runner.file.endsWith(".sh")
            ? ["sh", [runner.file]]
            : [process.execPath, [runner.file]];
        const child = startProcess(command, args, {
          cwd: project,
          env,
          label,
          timeoutMs: runner.timeoutMs ?? 30_000,
        });
        const deadline = setTimeout(() => child.stop("SIGKILL"), runner.timeoutMs ?? 30_000);
        const { code, signal } = await child.exited;
        clearTimeout(deadline);
        if (code !== 0) throw new Error(`${label} exited with ${code ?? signal}:\n${child.output}`);
        expectOutput(label, child.output, runner.expect);
      }
    } finally {
      await needed?.stop();
    }
    console.log(`packaging check: ${label} runs as written`);
    passed.push(name);
  }
  return passed;
}
