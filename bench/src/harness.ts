/**
 * Parent-side plumbing shared by the scenarios: the long-lived load process, one fresh
 * server process per run, and the bookkeeping of runs into figures.
 */
import { fileURLToPath } from "node:url";
import type { ServerKind } from "./contenders/types.js";
import { spawnWorker, type Worker } from "./ipc.js";
import type { CpuSnapshot } from "./server-main.js";
import { type Summary, summarise } from "./stats.js";

const SERVER_ENTRY = fileURLToPath(new URL("./server-main.ts", import.meta.url));
const LOAD_ENTRY = fileURLToPath(new URL("./load-main.ts", import.meta.url));
/**
 * Workspace packages run from their built `dist` (what users install), not through tsx:
 * tsx compiles with esbuild's keepNames, which adds a `__name()` call to every closure
 * created and would bill Lifeline for it. `--source` opts into the TypeScript sources for
 * quick iteration while a package's build is stale.
 */
const SOURCE_CONDITION = "--conditions=@lifeline/source";

/** How the runner starts and watches its child processes. */
export interface HarnessOptions {
  /** Resolve workspace packages to their TypeScript sources instead of dist. */
  readonly source?: boolean;
  /** Write a V8 CPU profile of every server run (serving only, no start-up) here. */
  readonly cpuProfDir?: string;
  /**
   * Keep one listening server per contender for all runs of a scenario (clients are still
   * new in every run). The quick profile does this to stay under 3 minutes; the full one
   * starts a fresh process for every run.
   */
  readonly reuseServers?: boolean;
  readonly log: (line: string) => void;
}

export class Harness {
  private loadWorker: Worker | undefined;
  /** Servers booted ahead of their run (in parallel), by contender. */
  private readonly spare = new Map<ServerKind, Promise<Worker>[]>();
  private profiles = 0;
  private redis: string | undefined;
  private readonly listening = new Map<
    ServerKind,
    { server: Worker; port: number; controlPort: number }
  >();

  constructor(readonly options: HarnessOptions) {}

  private conditions(): string[] {
    return this.options.source === true ? [SOURCE_CONDITION] : [];
  }

  /** The load process, started again if a failed run took it down. */
  async load(): Promise<Worker> {
    if (this.loadWorker?.alive === false) this.loadWorker = undefined;
    this.loadWorker ??= await spawnWorker(LOAD_ENTRY, {
      execArgv: [...this.conditions(), "--max-old-space-size=4096"],
    });
    return this.loadWorker;
  }

  /**
   * Boots server processes for the coming runs all at once: loading a server's code takes
   * up to 2 s on this machine, and the processes sit idle until their run.
   */
  prespawn(contenders: readonly ServerKind[]): void {
    for (const contender of contenders) {
      const booting = this.bootServer(contender);
      booting.catch(() => {});
      const list = this.spare.get(contender) ?? [];
      list.push(booting);
      this.spare.set(contender, list);
    }
  }

  /** A booted server process for `contender`, not yet listening. */
  spawnServer(contender: ServerKind): Promise<Worker> {
    return this.spare.get(contender)?.shift() ?? this.bootServer(contender);
  }

  private bootServer(contender: ServerKind): Promise<Worker> {
    const execArgv = [...this.conditions(), "--expose-gc"];
    const args = contender === "lifeline-redis" ? [contender, this.redisUrl()] : [contender];
    return spawnWorker(SERVER_ENTRY, { args, execArgv });
  }

  private redisUrl(): string {
    if (this.redis === undefined) throw new Error("a lifeline-redis server needs useRedis(url)");
    return this.redis;
  }

  /** The `redis-server` the `lifeline-redis` servers booted from now on use. */
  useRedis(url: string | undefined): void {
    this.redis = url;
  }

  /** Runs `body` against a fresh listening server, then stops it and drops every client. */
  async withServer<T>(
    contender: ServerKind,
    body: (server: Worker, port: number, controlPort: number) => Promise<T>,
    options: { readonly fresh?: boolean; readonly heartbeatMs?: number } = {},
  ): Promise<T> {
    const reuse =
      this.options.reuseServers === true &&
      options.fresh !== true &&
      options.heartbeatMs === undefined;
    let entry = reuse ? this.listening.get(contender) : undefined;
    if (entry !== undefined && !entry.server.alive) {
      this.listening.delete(contender);
      entry = undefined;
    }
    if (entry === undefined) {
      const server = await this.spawnServer(contender);
      const { port, controlPort } = await server.call<{ port: number; controlPort: number }>(
        "listen",
        { port: 0, heartbeatMs: options.heartbeatMs },
      );
      entry = { server, port, controlPort };
      if (reuse) this.listening.set(contender, entry);
    }
    const profiling = this.options.cpuProfDir !== undefined;
    if (profiling) await entry.server.call("profileStart");
    try {
      return await body(entry.server, entry.port, entry.controlPort);
    } finally {
      if (profiling && entry.server.alive) {
        const path = `${this.options.cpuProfDir}/${contender}-${++this.profiles}.cpuprofile`;
        await entry.server.call("profileStop", { path }).catch(() => {});
      }
      if (!reuse) await stopServer(entry.server);
      const load = await this.load();
      await load.call("closeAll");
    }
  }

  /** Whether runs after the first find their server already up (no boot to wait for). */
  get reusesServers(): boolean {
    return this.options.reuseServers === true;
  }

  /** Stops the servers kept for the scenario that just ended. */
  async endScenario(): Promise<void> {
    for (const { server } of this.listening.values()) await stopServer(server);
    this.listening.clear();
  }

  async close(): Promise<void> {
    for (const list of this.spare.values()) {
      for (const booting of list) await stopServer(await booting).catch(() => {});
    }
    this.spare.clear();
    await this.loadWorker?.kill();
    this.loadWorker = undefined;
  }
}

/** Asks the server to exit (so a CPU profile gets written), SIGKILL after 5 s. */
export async function stopServer(server: Worker): Promise<void> {
  server.notify("exit");
  const timer = setTimeout(() => void server.kill("SIGKILL"), 5000);
  await server.exited;
  clearTimeout(timer);
}

export function cpuDeltaUs(a: CpuSnapshot, b: CpuSnapshot): number {
  return b.userUs + b.systemUs - (a.userUs + a.systemUs);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One measured quantity of a scenario, with the runs of every contender. */
export interface MetricSpec {
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly better: "higher" | "lower";
  /** How many decimals the tables show. */
  readonly digits: number;
}

export interface MetricResult extends MetricSpec {
  readonly baseline: string;
  readonly values: Readonly<Record<string, Summary & { readonly ratio: number }>>;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly baseline: string;
  readonly contenders: readonly string[];
  readonly metrics: readonly MetricResult[];
  /** The metric drawn as this scenario's chart. */
  readonly chartMetrics: readonly string[];
  readonly notes: readonly string[];
  readonly errors: readonly string[];
}

/** Collects runs per (metric, contender) and turns them into medians and ratios. */
export class Runs {
  private readonly data = new Map<string, Map<string, number[]>>();
  readonly errors: string[] = [];

  add(contender: string, values: Readonly<Record<string, number>>): void {
    for (const [metric, value] of Object.entries(values)) {
      let byContender = this.data.get(metric);
      if (byContender === undefined) {
        byContender = new Map();
        this.data.set(metric, byContender);
      }
      const runs = byContender.get(contender) ?? [];
      runs.push(value);
      byContender.set(contender, runs);
    }
  }

  metric(spec: MetricSpec, contenders: readonly string[], baseline: string): MetricResult {
    const byContender = this.data.get(spec.id) ?? new Map<string, number[]>();
    const base = summarise(byContender.get(baseline) ?? []).median;
    const values: Record<string, Summary & { ratio: number }> = {};
    for (const contender of contenders) {
      const summary = summarise(byContender.get(contender) ?? []);
      values[contender] = { ...summary, ratio: summary.median / base };
    }
    return { ...spec, baseline, values };
  }
}

/**
 * Runs `once` for every contender, `runs` times, interleaved (run 1 of each contender,
 * then run 2...) so drift of the machine spreads over everyone. A failed run is
 * recorded as an error and the others go on.
 */
export async function repeat(
  harness: Harness,
  label: string,
  contenders: readonly string[],
  runs: number,
  once: (contender: string, run: number) => Promise<Readonly<Record<string, number>>>,
  /** The server processes one run of `contender` uses, booted together before each round. */
  servers: (contender: string) => readonly ServerKind[] = (c) => [c as ServerKind],
): Promise<Runs> {
  const collected = new Runs();
  for (let run = 1; run <= runs; run++) {
    if (run === 1 || !harness.reusesServers) harness.prespawn(contenders.flatMap(servers));
    for (const contender of contenders) {
      const started = Date.now();
      try {
        const values = await once(contender, run);
        collected.add(contender, values);
        harness.options.log(
          `  ${label} ${contender} run ${run}/${runs} (${((Date.now() - started) / 1000).toFixed(1)} s): ${formatValues(values)}`,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
        collected.errors.push(`${contender} run ${run}: ${message}`);
        harness.options.log(`  ${label} ${contender} run ${run}/${runs} FAILED: ${message}`);
      }
    }
  }
  await harness.endScenario();
  return collected;
}

function formatValues(values: Readonly<Record<string, number>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join(" ");
}
