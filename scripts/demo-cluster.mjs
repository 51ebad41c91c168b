#!/usr/bin/env node
// `pnpm demo:cluster` (apps/demo-server/README.md, "Scale-out on Redis"): redis-server on a
// free loopback port with a temporary directory, and three demo-server nodes on consecutive
// ports sharing it through REDIS_URL.
// Exactly one node (the lease holder) produces the telescopes and ticks; the page gets all
// three URLs and fails over between them. Kill a node by its PID to watch a failover;
// Ctrl-C stops everything this script started, by PID, and removes the directory.
//
// Environment: DEMO_CLUSTER_PORT (first node's port, default 8765), DEMO_CLUSTER_NODES
// (default 3), LOG_LEVEL (default info), DEMO_CLUSTER_FROM_SOURCE=1 (run the nodes from
// apps/demo-server/src through tsx, no build needed).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Read once; the nodes inherit the rest of it. */
const env = { ...process.env };
const root = fileURLToPath(new URL("../", import.meta.url));
const fromSource = env.DEMO_CLUSTER_FROM_SOURCE === "1";
const serverMain = join(
  root,
  fromSource ? "apps/demo-server/src/main.ts" : "apps/demo-server/dist/main.js",
);
const nodeArgs = fromSource
  ? ["--import", "tsx", "--conditions=@lifeline/source", serverMain]
  : [serverMain];
const basePort = Number(env.DEMO_CLUSTER_PORT ?? 8765);
const nodeCount = Number(env.DEMO_CLUSTER_NODES ?? 3);
const REDIS_READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** Everything started here, so shutdown can stop exactly these processes. */
const started = [];
let tempDir;
let stopping = false;

function fail(message) {
  process.stderr.write(`demo-cluster: ${message}\n`);
  process.exit(2);
}

function portFree(port, host = "127.0.0.1") {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** True when a Redis server answers PING on `port`. */
function redisAnswers(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Prefixes each output line; pino's JSON lines are shortened to level, message and fields. */
function pipeOutput(stream, name, target) {
  const lines = createInterface({ input: stream });
  lines.on("line", (line) => {
    let text = line;
    if (line.startsWith("{")) {
      try {
        const {
          level,
          msg,
          time: _t,
          pid: _p,
          hostname: _h,
          name: _n,
          node: _node,
          ...rest
        } = JSON.parse(line);
        const levels = {
          10: "trace",
          20: "debug",
          30: "info",
          40: "warn",
          50: "error",
          60: "fatal",
        };
        const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : "";
        text = `${levels[level] ?? level} ${msg ?? ""}${extra}`;
      } catch {
        // Not JSON after all: print as is.
      }
    }
    target.write(`[${name}] ${text}\n`);
  });
}

function startProcess(name, command, args, env) {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const entry = { name, child, exited: false };
  child.on("exit", (code, signal) => {
    entry.exited = true;
    if (!stopping) {
      process.stderr.write(
        `demo-cluster: ${name} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); the others keep running\n`,
      );
    }
  });
  child.on("error", (error) => {
    entry.exited = true;
    process.stderr.write(`demo-cluster: ${name} failed to start: ${error.message}\n`);
  });
  pipeOutput(child.stdout, name, process.stdout);
  pipeOutput(child.stderr, name, process.stderr);
  started.push(entry);
  return entry;
}

function waitForExit(entry, timeoutMs) {
  if (entry.exited) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    entry.child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  process.stdout.write("\ndemo-cluster: stopping\n");
  // Nodes first (graceful: clients get shutdown + 1012), Redis last.
  const nodes = started.filter((e) => e.name !== "redis");
  const redis = started.filter((e) => e.name === "redis");
  for (const group of [nodes, redis]) {
    for (const entry of group) if (!entry.exited) entry.child.kill("SIGTERM");
    await Promise.all(
      group.map(async (entry) => {
        if (!(await waitForExit(entry, STOP_TIMEOUT_MS))) {
          process.stderr.write(
            `demo-cluster: ${entry.name} ignored SIGTERM, killing pid ${entry.child.pid}\n`,
          );
          entry.child.kill("SIGKILL");
          await waitForExit(entry, 2000);
        }
      }),
    );
  }
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
  process.exit(exitCode);
}

async function startRedis() {
  const port = await freePort();
  tempDir = await mkdtemp(join(tmpdir(), "lifeline-demo-cluster-"));
  const entry = startProcess("redis", "redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    tempDir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--loglevel",
    "warning",
  ]);
  let ready = false;
  for (let i = 0; i < REDIS_READY_TIMEOUT_MS / 100 && !entry.exited && !ready; i += 1) {
    ready = await redisAnswers(port);
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!ready) {
    process.stderr.write(`demo-cluster: redis-server did not answer PING on port ${port}\n`);
    await stopAll(1);
  }
  return port;
}

async function main() {
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + nodeCount - 1 > 65535) {
    fail(`DEMO_CLUSTER_PORT must be a port number, got "${env.DEMO_CLUSTER_PORT}"`);
  }
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 16) {
    fail(`DEMO_CLUSTER_NODES must be from 1 to 16, got "${env.DEMO_CLUSTER_NODES}"`);
  }
  if (!existsSync(serverMain)) {
    fail(`${serverMain} is missing: run "pnpm demo:cluster", which builds first`);
  }
  const ports = Array.from({ length: nodeCount }, (_, i) => basePort + i);
  for (const port of ports) {
    if (!(await portFree(port)))
      fail(`port ${port} is in use; set DEMO_CLUSTER_PORT to another first port`);
  }

  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  if (spawnSync("redis-server", ["--version"]).error) {
    fail('redis-server not found: install it with "bash scripts/ensure-system-deps.sh redis"');
  }
  const redisPort = await startRedis();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const wsUrls = ports.map((port) => `ws://localhost:${port}/ws`).join(",");
  const nodes = ports.map((port, i) =>
    startProcess(`node-${i + 1}`, process.execPath, nodeArgs, {
      PORT: String(port),
      HOST: env.HOST ?? "127.0.0.1",
      REDIS_URL: redisUrl,
      NODE_ID: `node-${i + 1}`,
      WS_PUBLIC_URLS: wsUrls,
      LOG_LEVEL: env.LOG_LEVEL ?? "info",
      LOG_FORMAT: "json",
    }),
  );

  const summary = [
    "",
    `  Lifeline demo cluster: redis-server on ${redisUrl} (pid ${started[0]?.child.pid}, data in ${tempDir})`,
    ...nodes.map((n, i) => `    ${n.name}: http://localhost:${ports[i]}/  (pid ${n.child.pid})`),
    "",
    "  The page connects to all nodes in turn. One node holds the producer lease; kill it",
    `  (kill -9 <pid>) and another takes over within seconds: ticks keep rising by one.`,
    "  Ctrl-C stops everything.",
    "",
  ];
  process.stdout.write(`${summary.join("\n")}\n`);
}

main().catch(async (error) => {
  process.stderr.write(`demo-cluster: ${error?.stack ?? error}\n`);
  await stopAll(1);
});
