import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";

const INSTALL_HINT = "run `bash scripts/ensure-system-deps.sh redis` (Debian package redis-server)";

/** A real `redis-server` on a free loopback port, owned by one test file. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /**
   * Kills the process with SIGKILL and waits for its exit: without persistence nothing
   * survives; with `appendOnly` every acknowledged write does (fsync on every write).
   */
  stop(): Promise<void>;
  /** Starts it again on the same port, from its directory (empty without persistence). */
  start(): Promise<void>;
  /** Starts it unless it is running (a test that stopped it may have failed before restarting it). */
  ensureRunning(): Promise<void>;
  /** Stops it for good and removes its directory. */
  dispose(): Promise<void>;
}

export interface RedisServerOptions {
  /**
   * Persist with an append-only file fsynced on every write (`appendfsync always`).
   * @default false (no persistence: a restarted server is empty)
   */
  readonly appendOnly?: boolean;
  /**
   * Addresses to listen on besides 127.0.0.1, e.g. the host end of a test's veth pair so
   * a server in a network namespace can reach it. Only local interfaces.
   * @default []
   */
  readonly alsoBind?: readonly string[];
}

const READY_TIMEOUT_MS = 10_000;

function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => finish(new Error(`redis-server not ready in ${READY_TIMEOUT_MS} ms: ${output}`)),
      READY_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes("Ready to accept connections")) finish();
    };
    const onExit = (code: number | null) =>
      finish(new Error(`redis-server exited with ${code}: ${output}`));
    const onError = (error: Error) =>
      finish(new Error(`redis-server could not start (${error.message}): ${INSTALL_HINT}`));
    function finish(error?: Error) {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout?.resume();
      if (error) reject(error);
      else resolve();
    }
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "lifeline-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    if (child !== undefined) throw new Error("redis-server is already running");
    const proc = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        ...(options.alsoBind ?? []),
        // Protected mode answers DENIED to anything but loopback without a password; the
        // extra addresses are a test's own veth pair.
        ...(options.alsoBind?.length ? ["--protected-mode", "no"] : []),
        "--save",
        "",
        ...(options.appendOnly
          ? ["--appendonly", "yes", "--appendfsync", "always"]
          : ["--appendonly", "no"]),
        "--dir",
        dir,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    child = proc;
    try {
      await waitForReady(proc);
    } catch (error) {
      proc.kill("SIGKILL");
      child = undefined;
      throw error;
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGKILL");
    await exited;
  }

  try {
    await start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    ensureRunning: async () => {
      if (child === undefined) await start();
    },
    async dispose() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
