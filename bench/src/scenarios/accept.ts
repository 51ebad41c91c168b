/**
 * Connection accept rate: N clients connect with a bounded number of handshakes in
 * flight; a connection counts once it can carry traffic (Lifeline: `hello` received;
 * socket.io: CONNECT acknowledged; raw ws: open).
 */
import { type ContenderName, wireOf } from "../contenders/types.js";
import {
  cpuDeltaUs,
  type Harness,
  type MetricSpec,
  repeat,
  type ScenarioResult,
} from "../harness.js";
import type { CpuSnapshot } from "../server-main.js";

export interface AcceptParams {
  readonly clients: number;
  readonly concurrency: number;
  readonly runs: number;
}

const METRICS: readonly MetricSpec[] = [
  { id: "rate", label: "accepted connections/s", unit: "conn/s", better: "higher", digits: 0 },
  {
    id: "cpu",
    label: "server CPU per accepted connection",
    unit: "µs",
    better: "lower",
    digits: 0,
  },
];

export async function accept(
  harness: Harness,
  contenders: readonly ContenderName[],
  params: AcceptParams,
): Promise<ScenarioResult> {
  const id = `accept-${params.clients}`;
  const load = await harness.load();
  const runs = await repeat(harness, id, contenders, params.runs, (contender) =>
    harness.withServer(contender as ContenderName, async (server, port) => {
      const c0 = await server.call<CpuSnapshot>("cpu");
      const { ms } = await load.call<{ ms: number }>("connect", {
        wire: wireOf(contender as ContenderName),
        port,
        count: params.clients,
        subscribe: false,
        concurrency: params.concurrency,
        sample: 0,
        progressStep: Number.POSITIVE_INFINITY,
        mode: "fanout",
      });
      const c1 = await server.call<CpuSnapshot>("cpu");
      return { rate: params.clients / (ms / 1000), cpu: cpuDeltaUs(c0, c1) / params.clients };
    }),
  );
  const baseline = "ws";
  return {
    id,
    title: `Connection accept rate (${params.clients.toLocaleString("en")} clients, ${params.concurrency} handshakes in flight)`,
    description:
      "Rate from the first connect to the last connection ready, measured in the load process; server CPU is process.cpuUsage() of a fresh server process over the same span (HTTP upgrade, WebSocket handshake and, for Lifeline, hello).",
    params: { ...params },
    baseline,
    contenders,
    metrics: METRICS.map((spec) => runs.metric(spec, contenders, baseline)),
    chartMetrics: ["rate", "cpu"],
    notes: [],
    errors: runs.errors,
  };
}
