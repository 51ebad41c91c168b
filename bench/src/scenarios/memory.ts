/**
 * Memory per idle connection: the server's RSS and V8 heap after two full GCs, with no
 * client and then with N connected idle clients (handshake done, no subscription).
 */
import { type ContenderName, wireOf } from "../contenders/types.js";
import { type Harness, type MetricSpec, repeat, type ScenarioResult, sleep } from "../harness.js";
import type { MemorySnapshot } from "../server-main.js";

export interface MemoryParams {
  readonly clients: number;
  readonly settleMs: number;
  readonly runs: number;
  /** Write heap snapshots with 0 and N clients here (first run only), for tools/heap-diff.ts. */
  readonly heapSnapshotDir?: string;
}

const METRICS: readonly MetricSpec[] = [
  { id: "rss", label: "RSS per connection", unit: "KB", better: "lower", digits: 1 },
  { id: "heap", label: "heap per connection", unit: "KB", better: "lower", digits: 1 },
  { id: "rss0", label: "RSS with 0 clients", unit: "MB", better: "lower", digits: 1 },
];

export async function memory(
  harness: Harness,
  contenders: readonly ContenderName[],
  params: MemoryParams,
): Promise<ScenarioResult> {
  const id = `memory-${params.clients}`;
  const load = await harness.load();
  const runs = await repeat(harness, id, contenders, params.runs, (contender, run) =>
    harness.withServer(
      contender as ContenderName,
      async (server, port) => {
        const snapshot = async (name: string): Promise<void> => {
          if (params.heapSnapshotDir === undefined || run !== 1) return;
          const path = `${params.heapSnapshotDir}/${contender}-${name}.heapsnapshot`;
          await server.call("heapSnapshot", { path }, 300_000);
        };
        await snapshot("0");
        const before = await server.call<MemorySnapshot>("memory");
        await load.call("connect", {
          wire: wireOf(contender as ContenderName),
          port,
          count: params.clients,
          subscribe: false,
          concurrency: 200,
          sample: 0,
          progressStep: Number.POSITIVE_INFINITY,
          mode: "fanout",
        });
        await sleep(params.settleMs);
        const after = await server.call<MemorySnapshot>("memory");
        await snapshot(String(params.clients));
        if (after.connections < params.clients) {
          throw new Error(`server counts ${after.connections} of ${params.clients} connections`);
        }
        return {
          rss: (after.rss - before.rss) / params.clients / 1024,
          heap: (after.heapUsed - before.heapUsed) / params.clients / 1024,
          rss0: before.rss / 1024 / 1024,
        };
      },
      { fresh: true },
    ),
  );
  const baseline = "ws";
  return {
    id,
    title: `Memory per idle connection (0 vs ${params.clients.toLocaleString("en")} clients)`,
    description: `Server process started with --expose-gc; RSS and heapUsed after two global GCs with no client, then with ${params.clients.toLocaleString("en")} idle connected clients; the difference divided by the client count.`,
    params: { ...params },
    baseline,
    contenders,
    metrics: METRICS.map((spec) => runs.metric(spec, contenders, baseline)),
    chartMetrics: ["rss", "heap"],
    notes: [],
    errors: runs.errors,
  };
}
