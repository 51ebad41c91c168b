import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.js";
import type { Availability } from "./system.js";
import { within } from "./within.js";

export const INSTALL_HINT =
  "run `bash scripts/ensure-system-deps.sh redis` (Debian packages redis-server, redis-sentinel, redis-tools)";
const READY_TIMEOUT_MS = 10_000;
const run = promisify(execFile);

/** Whether `redis-server`, `redis-sentinel` and `redis-cli` are all on PATH. */
export function redisSentinelAvailability(): Availability {
  for (const program of ["redis-server", "redis-sentinel", "redis-cli"]) {
    const probe = spawnSync(program, ["--version"], { stdio: "ignore" });
    if (probe.error !== undefined || probe.status !== 0)
      return { ok: false, reason: `${program} not found on PATH: ${INSTALL_HINT}` };
  }
  return { ok: true };
}

/** One loopback Redis process of a Sentinel deployment, stoppable by PID. */
export interface RedisProcess {
  readonly port: number;
  readonly pid: number;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /**
   * Starts it again (after `kill`) with the same arguments and an empty data set. A master
   * restarted after a fail-over comes back as a master on its own; the Sentinels then turn
   * it into a replica of the promoted one.
   */
  restart(): Promise<void>;
}

/** A master, its replicas and the Sentinels watching them, on free loopback ports. */
export interface SentinelGroup {
  /** The master group name the Sentinels monitor. */
  readonly name: string;
  /** Addresses for ioredis's `sentinels` option. */
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** The master the group started with. */
  readonly master: RedisProcess;
  readonly replicas: readonly RedisProcess[];
  /** The port the Sentinels currently name as master (asks the first live one). */
  currentMasterPort(): Promise<number>;
  /** Resolves once every live Sentinel names `port` as master; polls, bounded by `timeoutMs`. */
  waitForMaster(port: number, timeoutMs: number): Promise<void>;
  /** Kills every process by PID and removes the directory. */
  dispose(): Promise<void>;
}

export interface SentinelGroupOptions {
  /** @default 1 */
  readonly replicas?: number;
  /** @default 3 */
  readonly sentinels?: number;
  /** Sentinel's `down-after-milliseconds`: how long a silent master takes to be declared down. @default 1000 */
  readonly downAfterMs?: number;
  /** Sentinel's `failover-timeout`, in milliseconds. @default 5000 */
  readonly failoverTimeoutMs?: number;
}

function spawnUntil(
  program: string,
  args: readonly string[],
  readyLine: RegExp,
): Promise<ChildProcess> {
  const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => finish(new Error(`${program} not ready in ${READY_TIMEOUT_MS} ms: ${output}`)),
      READY_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (readyLine.test(output)) finish();
    };
    const onExit = (code: number | null) =>
      finish(new Error(`${program} exited with ${code}: ${output}`));
    const onError = (error: Error) =>
      finish(new Error(`${program} could not start (${error.message}): ${INSTALL_HINT}`));
    function finish(error?: Error) {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
      // Keep draining both pipes so the child never blocks on a full one.
      child.stdout?.resume();
      child.stderr?.resume();
      if (error) {
        child.kill("SIGKILL");
        reject(error);
      } else resolve(child);
    }
    child.stdout?.on("data", onData);
    child.stderr?.resume();
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

export async function startProcess(
  program: string,
  args: readonly string[],
  readyLine: RegExp,
  port: number,
): Promise<RedisProcess> {
  let child = await spawnUntil(program, args, readyLine);
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    port,
    get pid() {
      return child.pid ?? -1;
    },
    async kill() {
      if (!running()) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await exited;
    },
    async restart() {
      if (running())
        throw new Error(`${program} on port ${port} is still running: kill() it first`);
      child = await spawnUntil(program, args, /Ready to accept/);
    },
  };
}

export async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], {
    timeout: 2000,
  });
  return stdout;
}

/** Polls `check` every 100 ms until it holds; the whole wait is bounded by `timeoutMs`. */
export async function pollUntil(check: () => Promise<boolean>, label: string, timeoutMs: number) {
  let stopped = false;
  const loop = (async () => {
    const attempts = Math.ceil(timeoutMs / 100) + 1;
    for (let i = 0; i < attempts && !stopped; i++) {
      if (await check().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`gave up waiting for ${label}`);
  })();
  try {
    await within(loop, label, timeoutMs);
  } finally {
    stopped = true;
  }
}

/**
 * Starts a master, `replicas` replicas (each waits for its first full sync) and
 * `sentinels` Sentinels (quorum: a majority), then waits until every Sentinel knows the
 * replicas and the other Sentinels, so a fail-over can be authorized the moment the master
 * is killed. Nothing persists: a killed process keeps nothing.
 */
export async function startSentinelGroup(
  options: SentinelGroupOptions = {},
): Promise<SentinelGroup> {
  const replicaCount = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 3;
  const name = "lifeline";
  const dir = await mkdtemp(join(tmpdir(), "lifeline-sentinel-"));
  const children: RedisProcess[] = [];
  const serverArgs = (port: number, sub: string) => [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    join(dir, sub),
  ];
  async function dispose() {
    await Promise.all(children.map((c) => c.kill()));
    await rm(dir, { recursive: true, force: true });
  }
  try {
    const masterPort = await freePort();
    await mkdir(join(dir, "master"));
    const master = await startProcess(
      "redis-server",
      serverArgs(masterPort, "master"),
      /Ready to accept/,
      masterPort,
    );
    children.push(master);
    const replicas: RedisProcess[] = [];
    for (let i = 0; i < replicaCount; i++) {
      const port = await freePort();
      await mkdir(join(dir, `replica-${i}`));
      const replica = await startProcess(
        "redis-server",
        [...serverArgs(port, `replica-${i}`), "--replicaof", "127.0.0.1", String(masterPort)],
        /MASTER <-> REPLICA sync: Finished with success/,
        port,
      );
      children.push(replica);
      replicas.push(replica);
    }
    const quorum = Math.floor(sentinelCount / 2) + 1;
    const downAfterMs = options.downAfterMs ?? 1000;
    const failoverTimeoutMs = options.failoverTimeoutMs ?? 5000;
    const sentinels: { host: string; port: number }[] = [];
    for (let i = 0; i < sentinelCount; i++) {
      const port = await freePort();
      const config = join(dir, `sentinel-${i}.conf`);
      await writeFile(
        config,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${masterPort} ${quorum}`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${name} 1`,
          "",
        ].join("\n"),
      );
      children.push(await startProcess("redis-sentinel", [config], /\+monitor master/, port));
      sentinels.push({ host: "127.0.0.1", port });
    }
    const knows = async (port: number) => {
      const others = (await cli(port, "SENTINEL", "sentinels", name)).match(/^runid$/gm) ?? [];
      const known = (await cli(port, "SENTINEL", "replicas", name)).match(/^runid$/gm) ?? [];
      return others.length >= sentinelCount - 1 && known.length >= replicaCount;
    };
    // Sentinels find each other through hello messages sent every 2 s on the master.
    await pollUntil(
      async () => (await Promise.all(sentinels.map((s) => knows(s.port)))).every(Boolean),
      "the Sentinels to know each other and the replicas",
      15_000,
    );

    async function masterPortOf(port: number): Promise<number> {
      const reply = await cli(port, "SENTINEL", "get-master-addr-by-name", name);
      return Number(reply.trim().split("\n")[1]);
    }
    return {
      name,
      sentinels,
      master,
      replicas,
      async currentMasterPort() {
        for (const s of sentinels) {
          const port = await masterPortOf(s.port).catch(() => Number.NaN);
          if (Number.isInteger(port)) return port;
        }
        throw new Error("no Sentinel answered get-master-addr-by-name");
      },
      async waitForMaster(port, timeoutMs) {
        await pollUntil(
          async () =>
            (await Promise.all(sentinels.map((s) => masterPortOf(s.port)))).every(
              (p) => p === port,
            ),
          `every Sentinel to name port ${port} as master`,
          timeoutMs,
        );
      },
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
