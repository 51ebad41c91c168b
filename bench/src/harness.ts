/**
 * Parent-side plumbing shared by the scenarios: the long-lived load process, one fresh
 * server process per run, and the bookkeeping of runs into figures.
 */
import { fileURLToPath } from "node:url";
import type { ContenderName } from "./contenders/types.js";
import { spawnWorker, type Worker } from "./ipc.js";
import type { CpuSnapshot } from "./server-main.js";
import { type Summary, summarise } from "./stats.js";

const SERVER_ENTRY = fileURLToPath(new URL("./server-main.ts", import.meta.url));
const LOAD_ENTRY = fileURLToPath(new URL("./load-main.ts", import.meta.url));
/**
 * Workspace packages run from their TypeScript sources (compiled on load by tsx, the same
 * JavaScript tsc would emit), so `pnpm bench` needs no build and measures the code as it is.
 */
const SOURCE_CONDITION = "--conditions=@lifeline/source";

/** Node flags of every server process; `--cpu-prof` adds profiling when asked. */
export interface HarnessOptions {
  readonly cpuProfDir?: string;
  readonly log: (line: string) => void;
}

export class Harness {
  private loadWorker: Worker | undefined;

  constructor(readonly options: HarnessOptions) {}

  async load(): Promise<Worker> {
    this.loadWorker ??= await spawnWorker(LOAD_ENTRY, {
      execArgv: [SOURCE_CONDITION, "--max-old-space-size=4096"],
    });
    return this.loadWorker;
  }

  /** A booted server process for `contender`, not yet listening. */
  spawnServer(contender: ContenderName): Promise<Worker> {
    const execArgv = [SOURCE_CONDITION, "--expose-gc"];
    if (this.options.cpuProfDir !== undefined) {
      execArgv.push("--cpu-prof", `--cpu-prof-dir=${this.options.cpuProfDir}`);
      execArgv.push(`--cpu-prof-name=${contender}-${Date.now()}.cpuprofile`);
    }
    return spawnWorker(SERVER_ENTRY, { args: [contender], execArgv });
  }

  /** Runs `body` against a fresh listening server, then stops it and drops every client. */
  async withServer<T>(
    contender: ContenderName,
    body: (server: Worker, port: number) => Promise<T>,
  ): Promise<T> {
    const server = await this.spawnServer(contender);
    try {
      const { port } = await server.call<{ port: number }>("listen", { port: 0 });
      return await body(server, port);
    } finally {
      await stopServer(server);
      await (await this.load()).call("closeAll");
    }
  }

  async close(): Promise<void> {
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
): Promise<Runs> {
  const collected = new Runs();
  for (let run = 1; run <= runs; run++) {
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
  return collected;
}

function formatValues(values: Readonly<Record<string, number>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join(" ");
}
