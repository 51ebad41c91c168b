/**
 * Cost as the audience grows: N idle subscribed clients on one server process, then a
 * fixed publish rate to all of them. Run for several N (1k to 15k), the figures per
 * connection should stay flat and latency should not grow faster than N; report/curves.ts
 * draws each figure against N.
 *
 * File descriptors: the load process holds N client sockets and the server N accepted
 * ones. Node cannot raise its own limit, so the runner is started under the shell's
 * `ulimit -n` (this machine: 20,000 soft and hard); run.ts refuses sizes that do not fit.
 */
import { type ContenderName, wireOf } from "../contenders/types.js";
import {
  cpuDeltaUs,
  type Harness,
  type MetricSpec,
  repeat,
  type ScenarioResult,
  sleep,
} from "../harness.js";
import type { Worker } from "../ipc.js";
import type { MeasureResult } from "../load-main.js";
import type { CpuSnapshot, MemorySnapshot } from "../server-main.js";

export interface ScaleParams {
  readonly clients: number;
  /** Every contender pings every connection at this interval during the idle phase. */
  readonly heartbeatMs: number;
  /** How long the idle phase measures heartbeat CPU (several intervals). */
  readonly idleMs: number;
  /** Publishes per second in the fixed-rate phase (200-byte messages to every client). */
  readonly publishesPerS: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly runs: number;
}

const METRICS: readonly MetricSpec[] = [
  { id: "rss", label: "RSS per idle connection", unit: "KB", better: "lower", digits: 1 },
  { id: "heap", label: "heap per idle connection", unit: "KB", better: "lower", digits: 2 },
  {
    id: "heartbeatCpu",
    label: "idle CPU per 10k connections (heartbeats)",
    unit: "ms/s",
    better: "lower",
    digits: 1,
  },
  { id: "cpu", label: "server CPU per delivery", unit: "µs", better: "lower", digits: 2 },
  { id: "p50", label: "delivery latency p50", unit: "ms", better: "lower", digits: 2 },
  { id: "p99", label: "delivery latency p99", unit: "ms", better: "lower", digits: 2 },
  { id: "loopMax", label: "server event-loop delay max", unit: "ms", better: "lower", digits: 1 },
  {
    id: "rate",
    label: "publishes/s received per client",
    unit: "/s",
    better: "higher",
    digits: 2,
  },
];

/** The metrics report/curves.ts draws against N. */
export const SCALE_CURVES = ["rss", "heartbeatCpu", "cpu", "p99", "loopMax"] as const;

export async function scale(
  harness: Harness,
  contenders: readonly ContenderName[],
  params: ScaleParams,
): Promise<ScenarioResult> {
  const id = `scale-${params.clients}`;
  const load = await harness.load();
  const runs = await repeat(harness, id, contenders, params.runs, (contender) =>
    harness.withServer(
      contender as ContenderName,
      async (server, port, controlPort) => {
        const before = await server.call<MemorySnapshot>("memory");
        await load.call(
          "connect",
          {
            wire: wireOf(contender as ContenderName),
            port,
            count: params.clients,
            subscribe: true,
            concurrency: 200,
            sample: Math.min(32, params.clients),
            progressStep: Number.POSITIVE_INFINITY,
            controlPort,
            mode: "fanout",
          },
          600_000,
        );
        const after = await server.call<MemorySnapshot>("memory");
        if (after.connections < params.clients) {
          throw new Error(`server counts ${after.connections} of ${params.clients} connections`);
        }
        const idle = await idleCpu(server, params);
        const fixed = await fixedRate(server, load, params);
        return {
          rss: (after.rss - before.rss) / params.clients / 1024,
          heap: (after.heapUsed - before.heapUsed) / params.clients / 1024,
          heartbeatCpu: (idle / 1000) * (10_000 / params.clients),
          ...fixed,
        };
      },
      { fresh: true, heartbeatMs: params.heartbeatMs },
    ),
  );
  const baseline = "ws-preframed";
  const n = params.clients.toLocaleString("en");
  return {
    id,
    title: `Scale: ${n} connections on one process`,
    description: `${n} clients connect and subscribe; RSS and heap per connection after two GCs; then ${params.idleMs / 1000} s idle with every contender pinging each connection every ${params.heartbeatMs} ms its own way (Lifeline's heartbeat, socket.io's pingInterval, the ping sweep \`ws\` documents), reported as server CPU per second per 10,000 connections; then ${+params.publishesPerS.toFixed(2)} publishes/s of 200 bytes to all of them (${(params.publishesPerS * params.clients).toLocaleString("en")} deliveries/s): server CPU per delivery, publish-to-receive latency sampled on 32 clients spread over the audience, the server's event-loop delay max, and the publish rate each client actually received.`,
    params: { ...params },
    baseline,
    contenders,
    metrics: METRICS.map((spec) => runs.metric(spec, contenders, baseline)),
    chartMetrics: ["rss", "heartbeatCpu", "p99"],
    notes: [],
    errors: runs.errors,
  };
}

/** Server CPU per second while every connection is idle but pinged, in microseconds. */
async function idleCpu(server: Worker, params: ScaleParams): Promise<number> {
  // A full interval first, so every connection is in its steady ping rhythm.
  await sleep(params.heartbeatMs);
  const s0 = await server.call<CpuSnapshot>("cpu");
  await sleep(params.idleMs);
  const s1 = await server.call<CpuSnapshot>("cpu");
  return cpuDeltaUs(s0, s1) / ((s1.t - s0.t) / 1000);
}

async function fixedRate(
  server: Worker,
  load: Worker,
  params: ScaleParams,
): Promise<Record<string, number>> {
  await server.call("fanoutStart", {
    clients: params.clients,
    window: 1,
    burst: 1,
    bytes: 200,
    intervalMs: 1000 / params.publishesPerS,
  });
  try {
    await sleep(params.warmupMs);
    await server.call("loopDelayStart", { resolutionMs: 10 });
    const [s0, l0] = await Promise.all([
      server.call<CpuSnapshot>("cpu"),
      load.call<MeasureResult>("measureStart"),
    ]);
    await sleep(params.measureMs);
    const [s1, l1] = await Promise.all([
      server.call<CpuSnapshot>("cpu"),
      load.call<MeasureResult>("measureStop"),
    ]);
    const loop = await server.call<{ maxMs: number }>("loopDelayStop");
    const deliveries = l1.delivered - l0.delivered;
    if (deliveries <= 0) throw new Error("no message delivered at the fixed rate");
    return {
      // Below publishesPerS when the contender fell behind: its publishes went out late.
      rate: deliveries / params.clients / ((l1.t - l0.t) / 1000),
      cpu: cpuDeltaUs(s0, s1) / deliveries,
      p50: l1.latency.p50,
      p99: l1.latency.p99,
      loopMax: loop.maxMs,
    };
  } finally {
    await server.call("fanoutStop");
  }
}
