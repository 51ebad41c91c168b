#!/usr/bin/env node
// `pnpm demo:cluster` (apps/demo-server/README.md, "Scale-out on Redis"): redis-server on a
// free loopback port with a temporary directory, and three demo-server nodes on consecutive
// ports sharing it through REDIS_URL.
// `--sentinel`: a master, a replica and three Sentinels instead (REDIS_SENTINELS);
// `--redis-cluster`: a Redis Cluster of three masters with a replica each
// (REDIS_CLUSTER_NODES). Kill the master by its PID to watch a Redis fail-over.
// Exactly one node (the lease holder) produces the telescopes and ticks; the page gets all
// three URLs and fails over between them. Kill a node by its PID to watch a failover;
// Ctrl-C (or SIGTERM) stops everything this script started, by PID, and removes the directory.
//
// Environment: DEMO_CLUSTER_PORT (first node's port, default 8765), DEMO_CLUSTER_NODES
// (default 3), LOG_LEVEL (default info), DEMO_CLUSTER_FROM_SOURCE=1 (run the nodes from
// apps/demo-server/src through tsx, no build needed).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
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
const CLUSTER_READY_TIMEOUT_MS = 30_000;
const MODES = { "": "single", "--sentinel": "sentinel", "--redis-cluster": "cluster" };
const modeArgs = process.argv.slice(2);
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

/**
 * True when the Redis server on `port` answers `command` (inline syntax) with a reply that
 * contains `expected`. Reads until the reply is complete enough to tell, or 1 s.
 */
function redisReplies(port, command, expected) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes(expected)) done(true);
      else if (reply.startsWith("-")) done(false);
    });
  });
}

/** Polls every 100 ms until `check` holds, for at most `timeoutMs`; false if it never did. */
async function pollUntil(check, timeoutMs) {
  for (let i = 0; i < timeoutMs / 100 && !stopping; i += 1) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
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

/**
 * `role` is "redis", "node" (stopped first, so their clients get shutdown) or "tool" (a
 * one-shot command such as redis-cli, expected to exit by itself).
 */
function startProcess(name, command, args, env, role = "node") {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const entry = { name, role, child, exited: false };
  child.on("exit", (code, signal) => {
    entry.exited = true;
    if (!stopping && role !== "tool") {
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
  const nodes = started.filter((e) => e.role === "node");
  const redis = started.filter((e) => e.role === "redis");
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

/** A redis-server (or Sentinel) on a free port; waits until it answers PING. */
async function startRedisProcess(name, program, args) {
  const port = await freePort();
  const entry = startProcess(
    name,
    program,
    [...args(port), "--port", String(port), "--bind", "127.0.0.1", "--loglevel", "warning"],
    {},
    "redis",
  );
  const ready = await pollUntil(
    () => !entry.exited && redisReplies(port, "PING", "+PONG"),
    REDIS_READY_TIMEOUT_MS,
  );
  if (!ready) {
    process.stderr.write(`demo-cluster: ${name} did not answer PING on port ${port}\n`);
    await stopAll(1);
  }
  return { port, entry };
}

/** A data directory of its own, nothing persisted. */
async function serverArgs(name, extra = []) {
  const dir = join(tempDir, name);
  await mkdir(dir);
  return () => ["--dir", dir, "--save", "", "--appendonly", "no", ...extra];
}

/** One redis-server: REDIS_URL. */
async function startSingle() {
  const { port } = await startRedisProcess("redis", "redis-server", await serverArgs("redis"));
  return { env: { REDIS_URL: `redis://127.0.0.1:${port}` }, label: `redis-server on port ${port}` };
}

/** A master, a replica and three Sentinels (quorum 2): REDIS_SENTINELS. */
async function startSentinel() {
  const master = await startRedisProcess(
    "redis-master",
    "redis-server",
    await serverArgs("master"),
  );
  await startRedisProcess(
    "redis-replica",
    "redis-server",
    await serverArgs("replica", ["--replicaof", "127.0.0.1", String(master.port)]),
  );
  const sentinels = [];
  for (let i = 1; i <= 3; i += 1) {
    const config = join(tempDir, `sentinel-${i}.conf`);
    await writeFile(
      config,
      [
        `sentinel monitor lifeline 127.0.0.1 ${master.port} 2`,
        "sentinel down-after-milliseconds lifeline 2000",
        "sentinel failover-timeout lifeline 10000",
        "",
      ].join("\n"),
    );
    const { port } = await startRedisProcess(`sentinel-${i}`, "redis-sentinel", () => [config]);
    sentinels.push(`127.0.0.1:${port}`);
  }
  return {
    env: { REDIS_SENTINELS: sentinels.join(","), REDIS_SENTINEL_NAME: "lifeline" },
    label: `Sentinel group "lifeline": master on port ${master.port}, Sentinels ${sentinels.join(", ")}`,
  };
}

/** Three masters with a replica each, joined by redis-cli: REDIS_CLUSTER_NODES. */
async function startRedisCluster() {
  const ports = [];
  for (let i = 1; i <= 6; i += 1) {
    const args = await serverArgs(`cluster-${i}`, [
      ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
      ...["--cluster-node-timeout", "2000"],
    ]);
    ports.push((await startRedisProcess(`redis-${i}`, "redis-server", args)).port);
  }
  const addresses = ports.map((port) => `127.0.0.1:${port}`);
  const create = startProcess(
    "redis-cli",
    "redis-cli",
    ["--cluster", "create", ...addresses, "--cluster-replicas", "1", "--cluster-yes"],
    {},
    "tool",
  );
  const created = await waitForExit(create, CLUSTER_READY_TIMEOUT_MS);
  const ok =
    created &&
    create.child.exitCode === 0 &&
    (await pollUntil(
      async () =>
        (
          await Promise.all(ports.map((p) => redisReplies(p, "CLUSTER INFO", "cluster_state:ok")))
        ).every(Boolean),
      CLUSTER_READY_TIMEOUT_MS,
    ));
  if (!ok) {
    process.stderr.write("demo-cluster: the Redis Cluster did not form\n");
    await stopAll(1);
  }
  return {
    env: { REDIS_CLUSTER_NODES: addresses.join(",") },
    label: `Redis Cluster of 3 masters + 3 replicas on ports ${ports.join(", ")}`,
  };
}

async function main() {
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + nodeCount - 1 > 65535) {
    fail(`DEMO_CLUSTER_PORT must be a port number, got "${env.DEMO_CLUSTER_PORT}"`);
  }
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 16) {
    fail(`DEMO_CLUSTER_NODES must be from 1 to 16, got "${env.DEMO_CLUSTER_NODES}"`);
  }
  const mode = MODES[modeArgs[0] ?? ""];
  if (mode === undefined || modeArgs.length > 1) {
    fail(`usage: demo-cluster.mjs [--sentinel | --redis-cluster], got "${modeArgs.join(" ")}"`);
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

  const programs = { single: ["redis-server"], sentinel: ["redis-server", "redis-sentinel"] };
  for (const program of programs[mode] ?? ["redis-server", "redis-cli"]) {
    if (spawnSync(program, ["--version"]).error) {
      fail(`${program} not found: install it with "bash scripts/ensure-system-deps.sh redis"`);
    }
  }
  tempDir = await mkdtemp(join(tmpdir(), "lifeline-demo-cluster-"));
  const start = { single: startSingle, sentinel: startSentinel, cluster: startRedisCluster };
  const redis = await start[mode]();
  const wsUrls = ports.map((port) => `ws://localhost:${port}/ws`).join(",");
  const nodes = ports.map((port, i) =>
    startProcess(`node-${i + 1}`, process.execPath, nodeArgs, {
      PORT: String(port),
      HOST: env.HOST ?? "127.0.0.1",
      ...redis.env,
      NODE_ID: `node-${i + 1}`,
      WS_PUBLIC_URLS: wsUrls,
      LOG_LEVEL: env.LOG_LEVEL ?? "info",
      LOG_FORMAT: "json",
    }),
  );

  const summary = [
    "",
    `  Lifeline demo cluster: ${redis.label} (data in ${tempDir})`,
    ...started
      .filter((e) => e.role === "redis" && !e.exited)
      .map((e) => `    ${e.name} (pid ${e.child.pid})`),
    ...nodes.map((n, i) => `    ${n.name}: http://localhost:${ports[i]}/  (pid ${n.child.pid})`),
    "",
    "  The page connects to all nodes in turn. One node holds the producer lease; kill it",
    `  (kill -9 <pid>) and another takes over within seconds: ticks keep rising by one.`,
    ...(mode === "single"
      ? []
      : [
          "  Kill a Redis master (kill -9 <pid>) to watch a Redis fail-over: the diagnostics",
          "  panel (Ctrl+Shift+W) shows the current master.",
        ]),
    "  Ctrl-C stops everything.",
    "",
  ];
  process.stdout.write(`${summary.join("\n")}\n`);
}

main().catch(async (error) => {
  process.stderr.write(`demo-cluster: ${error?.stack ?? error}\n`);
  await stopAll(1);
});
