import { type ChildProcess, spawn } from "node:child_process";
import { get } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const chaosRoot = join(here, "..");
const READY_TIMEOUT_MS = 20_000;

/** What server-main.ts runs; `options` are `ServerOptions` that survive JSON. */
export interface ChildServerConfig {
  readonly port: number;
  readonly host: string;
  /** Use the Redis broker at this URL; the in-memory broker when absent (and no `broker`). */
  readonly redisUrl?: string;
  /**
   * `RedisBrokerOptions` that survive JSON (`sentinel`, `waitForReplication`, PING
   * timings...): the Redis broker is used when this or `redisUrl` is given.
   */
  readonly broker?: Record<string, unknown>;
  readonly keyPrefix?: string;
  readonly options?: Record<string, unknown>;
  /** pino level for the server's log on stdout; no log when absent. */
  readonly logLevel?: string;
  /** Presence on every topic, with these settings; off when absent. */
  readonly presence?: { readonly graceMs?: number; readonly diffIntervalMs?: number };
}

export interface LoopDelay {
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  readonly connections: number;
}

/** A server event printed by the child (server-main.ts). */
export type ServerEvent =
  | {
      readonly type: "disconnect";
      readonly client_id: string;
      readonly code: number;
      /** Wall-clock time in the child. */
      readonly at: number;
    }
  | {
      /** The Redis broker's health changed. */
      readonly type: "broker_health";
      readonly healthy: boolean;
      readonly detail?: string;
      readonly at: number;
    };

export interface MemorySample {
  readonly heap_used: number;
  readonly rss: number;
  readonly external: number;
  readonly array_buffers: number;
  readonly gc: boolean;
  readonly connections: number;
  readonly subscriptions: number;
}

/** A Lifeline server in a child process, killed and restarted by PID. */
export interface ServerProcess {
  readonly port: number;
  readonly host: string;
  readonly pid: number;
  readonly url: string;
  /** Kills the process with SIGKILL (no shutdown, no close frames) and waits for its exit. */
  kill(): Promise<void>;
  /** SIGTERM: the server shuts down gracefully (shutdown message, 1012) and exits. */
  stop(): Promise<void>;
  /** Starts a new process on the same port (after `kill`). */
  restart(): Promise<void>;
  loopDelay(reset?: boolean): Promise<LoopDelay>;
  /** Calls `listener` with every event the child prints; returns its undo. */
  onEvent(listener: (event: ServerEvent) => void): () => void;
  memory(): Promise<MemorySample>;
  /** Kills it if it runs. */
  dispose(): Promise<void>;
}

export interface StartOptions {
  /** Address the server listens on. @default "127.0.0.1" */
  readonly host?: string;
  /** Address clients and the helper connect to, when not `host` (e.g. `0.0.0.0`). */
  readonly connectHost?: string;
  readonly port?: number;
  readonly redisUrl?: string;
  readonly broker?: Record<string, unknown>;
  readonly keyPrefix?: string;
  readonly options?: Record<string, unknown>;
  readonly logLevel?: string;
  readonly presence?: ChildServerConfig["presence"];
  /** Run inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  /** Extra node flags, e.g. `--expose-gc`. */
  readonly nodeFlags?: readonly string[];
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly port: number;
}

async function spawnServer(
  config: ChildServerConfig,
  start: StartOptions,
  onEvent: (event: ServerEvent) => void,
): Promise<Running> {
  const nodeArgs = [
    ...(start.nodeFlags ?? []),
    "--conditions=@lifeline/source",
    "--import",
    "tsx",
    join(here, "server-main.ts"),
    JSON.stringify(config),
  ];
  const [command, args] =
    start.netns === undefined
      ? [process.execPath, nodeArgs]
      : ["ip", ["netns", "exec", start.netns, process.execPath, ...nodeArgs]];
  const child = spawn(command, args, {
    cwd: chaosRoot,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: join(chaosRoot, "tsconfig.json"),
    },
    // stdin stays open as a lifeline: the child exits when this process goes away.
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => done(new Error(`server process not ready in ${READY_TIMEOUT_MS} ms: ${output}`)),
      READY_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const line = output.split("\n").find((l) => l.startsWith("LIFELINE_READY "));
      if (line !== undefined) {
        done(
          undefined,
          (JSON.parse(line.slice("LIFELINE_READY ".length)) as { port: number }).port,
        );
      }
    };
    const onExit = (code: number | null) =>
      done(new Error(`server process exited with ${code}: ${output}`));
    function done(error?: Error, value?: number) {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      // Keep reading stdout, for events and so the child never blocks on a full pipe.
      let rest = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        const lines = (rest + chunk.toString("utf8")).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) {
          if (line.startsWith("LIFELINE_EVENT ")) {
            onEvent(JSON.parse(line.slice("LIFELINE_EVENT ".length)) as ServerEvent);
          }
        }
      });
      if (error !== undefined || value === undefined) {
        child.kill("SIGKILL");
        reject(error ?? new Error("no ready line"));
      } else resolve(value);
    }
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
  return { child, exited, port };
}

/** Starts server-main.ts in a child process and waits until it listens. */
export async function startServerProcess(start: StartOptions = {}): Promise<ServerProcess> {
  const host = start.host ?? "127.0.0.1";
  const config = (port: number): ChildServerConfig => ({
    port,
    host,
    ...(start.redisUrl === undefined ? {} : { redisUrl: start.redisUrl }),
    ...(start.broker === undefined ? {} : { broker: start.broker }),
    ...(start.keyPrefix === undefined ? {} : { keyPrefix: start.keyPrefix }),
    ...(start.options === undefined ? {} : { options: start.options }),
    ...(start.logLevel === undefined ? {} : { logLevel: start.logLevel }),
    ...(start.presence === undefined ? {} : { presence: start.presence }),
  });
  const listeners = new Set<(event: ServerEvent) => void>();
  const dispatch = (event: ServerEvent) => {
    for (const listener of listeners) listener(event);
  };
  let running: Running | undefined = await spawnServer(config(start.port ?? 0), start, dispatch);
  const port = running.port;
  const connectHost = start.connectHost ?? host;

  const fetchJson = <T>(path: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const request = get({ host: connectHost, port, path, timeout: 10_000 }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => {
          try {
            resolve(JSON.parse(body) as T);
          } catch (error) {
            reject(error);
          }
        });
      });
      request.on("timeout", () => request.destroy(new Error(`GET ${path} timed out`)));
      request.on("error", reject);
    });

  async function signal(name: "SIGKILL" | "SIGTERM"): Promise<void> {
    const current = running;
    running = undefined;
    if (!current) return;
    if (current.child.exitCode !== null || current.child.signalCode !== null) return;
    // By PID: only the process this helper started.
    current.child.kill(name);
    await current.exited;
  }
  const kill = () => signal("SIGKILL");

  return {
    port,
    host: connectHost,
    get pid() {
      return running?.child.pid ?? -1;
    },
    url: `ws://${connectHost}:${port}/ws`,
    kill,
    stop: () => signal("SIGTERM"),
    async restart() {
      if (running) throw new Error("the server process is still running: kill() it first");
      running = await spawnServer(config(port), start, dispatch);
    },
    loopDelay: (reset = false) => fetchJson<LoopDelay>(`/__chaos/loop${reset ? "?reset=1" : ""}`),
    memory: () => fetchJson<MemorySample>("/__chaos/memory"),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose: kill,
  };
}
