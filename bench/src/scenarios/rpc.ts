/**
 * Request/response round trips: an `echo` method answered by the server. At a fixed
 * 2,000 round trips/s (latency under a realistic load) and at the maximum rate, where
 * every client keeps one request outstanding.
 */
import { type ContenderName, wireOf } from "../contenders/types.js";
import {
  cpuDeltaUs,
  type Harness,
  type MetricSpec,
  repeat,
  type ScenarioResult,
} from "../harness.js";
import type { RpcResult } from "../load-main.js";
import type { CpuSnapshot } from "../server-main.js";

export interface RpcParams {
  readonly clients: number;
  readonly ratePerS: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly runs: number;
}

const METRICS: readonly MetricSpec[] = [
  { id: "rateP50", label: "p50 at fixed rate", unit: "ms", better: "lower", digits: 3 },
  { id: "rateP99", label: "p99 at fixed rate", unit: "ms", better: "lower", digits: 3 },
  { id: "maxRate", label: "round trips/s at max rate", unit: "rt/s", better: "higher", digits: 0 },
  { id: "maxP50", label: "p50 at max rate", unit: "ms", better: "lower", digits: 3 },
  { id: "maxP99", label: "p99 at max rate", unit: "ms", better: "lower", digits: 3 },
  {
    id: "cpu",
    label: "server CPU per round trip (max rate)",
    unit: "µs",
    better: "lower",
    digits: 2,
  },
];

export async function rpc(
  harness: Harness,
  contenders: readonly ContenderName[],
  params: RpcParams,
): Promise<ScenarioResult> {
  const id = `rpc-${params.clients}`;
  const load = await harness.load();
  const runs = await repeat(harness, id, contenders, params.runs, (contender) =>
    harness.withServer(contender as ContenderName, async (server, port) => {
      const wire = wireOf(contender as ContenderName);
      await load.call("connect", {
        wire,
        port,
        count: params.clients,
        subscribe: false,
        concurrency: 100,
        sample: 0,
        progressStep: Number.POSITIVE_INFINITY,
        mode: "rpc",
      });
      const common = { wire, warmupMs: params.warmupMs, durationMs: params.measureMs };
      const fixed = await load.call<RpcResult>("rpc", {
        ...common,
        mode: "rate",
        ratePerS: params.ratePerS,
      });
      const c0 = await server.call<CpuSnapshot>("cpu");
      const max = await load.call<RpcResult>("rpc", { ...common, mode: "max", ratePerS: 0 });
      const c1 = await server.call<CpuSnapshot>("cpu");
      if (fixed.completed === 0 || max.completed === 0) throw new Error("no round trip completed");
      // The CPU window also spans warm-up and drain; count the round trips of that span.
      const maxRate = max.completed / max.seconds;
      const spanSeconds = (c1.t - c0.t) / 1000;
      return {
        rateP50: fixed.latency.p50,
        rateP99: fixed.latency.p99,
        maxRate,
        maxP50: max.latency.p50,
        maxP99: max.latency.p99,
        cpu: cpuDeltaUs(c0, c1) / (maxRate * spanSeconds),
      };
    }),
  );
  const baseline = "ws";
  return {
    id,
    title: `Request/response, ${params.clients} client${params.clients === 1 ? "" : "s"}`,
    description: `An echo method with ~64-byte params. Fixed rate: ${params.ratePerS.toLocaleString("en")} round trips/s spread over the clients. Max rate: every client keeps one request outstanding. Latency measured in the load process from send to answer. The raw ws server parses the JSON request and answers {id, result}.`,
    params: { ...params },
    baseline,
    contenders,
    metrics: METRICS.map((spec) => runs.metric(spec, contenders, baseline)),
    chartMetrics: ["rateP99", "maxRate"],
    notes: [],
    errors: runs.errors,
  };
}
