/**
 * Broadcast fan-out: N subscribed clients, the server publishes 200-byte messages as fast
 * as the flow-control window lets it. `burst` > 1 publishes several messages in one
 * macrotask, the "high publish rate" case where coalescing writes per socket pays off.
 * `payload: "telemetry"` publishes numeric readings instead of padding, to compare
 * Lifeline's wires where the codec makes a difference.
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
import type { PayloadKind } from "../payload.js";
import type { CpuSnapshot } from "../server-main.js";

export interface FanoutParams {
  readonly clients: number;
  readonly burst: number;
  readonly window: number;
  readonly bytes: number;
  /** What the messages carry (`padded` when absent). */
  readonly payload?: PayloadKind;
  /**
   * The contenders this case compares and the one its ratios are taken against; absent:
   * every contender asked for, against pre-framed ws.
   */
  readonly only?: {
    readonly contenders: readonly ContenderName[];
    readonly baseline: ContenderName;
  };
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly runs: number;
  /**
   * After the max-rate phase, publish `burst` messages every `everyMs` (a load every
   * contender sustains) and measure delivery latency there.
   */
  readonly fixedRate?: { readonly burst: number; readonly everyMs: number };
}

const METRICS: readonly MetricSpec[] = [
  { id: "rate", label: "delivered msgs/s", unit: "msg/s", better: "higher", digits: 0 },
  { id: "cpu", label: "server CPU per delivery", unit: "µs", better: "lower", digits: 2 },
  { id: "serverCpu", label: "server CPU", unit: "%", better: "lower", digits: 0 },
  { id: "loadCpu", label: "load process CPU", unit: "%", better: "lower", digits: 0 },
  {
    id: "bytes",
    label: "bytes on the wire per delivery",
    unit: "B",
    better: "lower",
    digits: 0,
  },
  { id: "p50", label: "delivery latency p50 at max rate", unit: "ms", better: "lower", digits: 1 },
  { id: "p99", label: "delivery latency p99 at max rate", unit: "ms", better: "lower", digits: 1 },
];

const FIXED_RATE_METRICS: readonly MetricSpec[] = [
  { id: "fixedP50", label: "latency p50 at fixed rate", unit: "ms", better: "lower", digits: 2 },
  { id: "fixedP99", label: "latency p99 at fixed rate", unit: "ms", better: "lower", digits: 2 },
  {
    id: "fixedCpu",
    label: "server CPU per delivery at fixed rate",
    unit: "µs",
    better: "lower",
    digits: 2,
  },
];

export async function fanout(
  harness: Harness,
  contenders: readonly ContenderName[],
  params: FanoutParams,
): Promise<ScenarioResult> {
  const coalescing = params.burst > 1;
  const telemetry = params.payload === "telemetry";
  const id = `${coalescing ? "burst" : "fanout"}${telemetry ? "-telemetry" : ""}-${params.clients}`;
  const load = await harness.load();
  const runs = await repeat(harness, id, contenders, params.runs, (contender) =>
    harness.withServer(contender as ContenderName, async (server, port, controlPort) => {
      await load.call("connect", {
        wire: wireOf(contender as ContenderName),
        port,
        count: params.clients,
        subscribe: true,
        concurrency: 200,
        sample: Math.min(16, params.clients),
        progressStep: Math.max(1, Math.floor((params.clients * params.window) / 4)),
        controlPort,
        mode: "fanout",
      });
      {
        await server.call("fanoutStart", {
          clients: params.clients,
          window: params.window,
          burst: params.burst,
          bytes: params.bytes,
          payload: params.payload,
        });
        await sleep(params.warmupMs);
        const [s0, l0] = await Promise.all([
          server.call<CpuSnapshot>("cpu"),
          load.call<MeasureResult>("measureStart"),
        ]);
        await sleep(params.measureMs);
        const [s1, l1] = await Promise.all([
          server.call<CpuSnapshot>("cpu"),
          load.call<MeasureResult>("measureStop"),
        ]);
        const stop = await server.call("fanoutStop");
        if (process.env.BENCH_DEBUG) harness.options.log(`    ${JSON.stringify(stop)}`);
        const deliveries = l1.delivered - l0.delivered;
        if (deliveries <= 0) throw new Error("no message delivered");
        const seconds = (l1.t - l0.t) / 1000;
        const fixed =
          params.fixedRate === undefined
            ? {}
            : await fixedRate(server, load, params, params.fixedRate);
        return {
          ...fixed,
          rate: deliveries / seconds,
          cpu: cpuDeltaUs(s0, s1) / deliveries,
          serverCpu: cpuDeltaUs(s0, s1) / ((s1.t - s0.t) * 10),
          loadCpu: (l1.cpuUs - l0.cpuUs) / ((l1.t - l0.t) * 10),
          bytes: (l1.bytes - l0.bytes) / deliveries,
          p50: l1.latency.p50,
          p99: l1.latency.p99,
        };
      }
    }),
  );
  const baseline = params.only?.baseline ?? "ws-preframed";
  return {
    id,
    ...heading(params),
    params: { ...params },
    baseline,
    contenders,
    metrics: [...METRICS, ...(params.fixedRate === undefined ? [] : FIXED_RATE_METRICS)].map(
      (spec) => runs.metric(spec, contenders, baseline),
    ),
    chartMetrics: coalescing ? ["rate", "cpu", "fixedP99"] : ["rate", "cpu", "bytes"],
    notes: [],
    errors: runs.errors,
  };
}

/** The scenario's title and description in the report. */
function heading(params: FanoutParams): { title: string; description: string } {
  const coalescing = params.burst > 1;
  const telemetry = params.payload === "telemetry";
  const clients = params.clients.toLocaleString("en");
  return {
    title: coalescing
      ? `Fan-out at a high publish rate (${params.burst} messages per tick), ${clients} clients`
      : telemetry
        ? `Fan-out of ${params.bytes}-byte numeric telemetry, ${clients} clients`
        : `Broadcast fan-out, ${clients} clients`,
    description: coalescing
      ? `The server publishes bursts of ${params.burst} ${params.bytes}-byte messages in one macrotask, as fast as a window of ${params.window} undelivered messages per client allows. Coalescing the frames queued for one socket into one write is what separates the contenders here. At max rate latency is set by the window (queueing), so latency is compared at a fixed rate too: ${params.fixedRate?.burst ?? 0} messages every ${params.fixedRate?.everyMs ?? 0} ms. Latency is publish-to-receive, sampled on 16 clients spread evenly over the audience.`
      : `The server publishes ${params.bytes}-byte ${telemetry ? "telemetry messages (JSON size; an array of numbers: full-precision doubles, two-decimal values and integer counters in equal thirds)" : "messages"} one per macrotask, as fast as a window of ${params.window} undelivered messages per client allows; every client receives every message. Server CPU per delivery is process.cpuUsage() of the server process over the window divided by messages delivered. Bytes on the wire per delivery: what the clients' TCP sockets read over the window (frames, headers, heartbeats) divided by messages delivered.`,
  };
}

/** The open-loop phase: a fixed offered rate, the same for every contender. */
async function fixedRate(
  server: Worker,
  load: Worker,
  params: FanoutParams,
  rate: { readonly burst: number; readonly everyMs: number },
): Promise<Record<string, number>> {
  await server.call("fanoutStart", {
    clients: params.clients,
    window: params.window,
    burst: rate.burst,
    bytes: params.bytes,
    payload: params.payload,
    intervalMs: rate.everyMs,
  });
  try {
    await sleep(Math.min(params.warmupMs, 500));
    const [s0, l0] = await Promise.all([
      server.call<CpuSnapshot>("cpu"),
      load.call<MeasureResult>("measureStart"),
    ]);
    await sleep(params.measureMs);
    const [s1, l1] = await Promise.all([
      server.call<CpuSnapshot>("cpu"),
      load.call<MeasureResult>("measureStop"),
    ]);
    const deliveries = l1.delivered - l0.delivered;
    return {
      fixedP50: l1.latency.p50,
      fixedP99: l1.latency.p99,
      fixedCpu: deliveries > 0 ? cpuDeltaUs(s0, s1) / deliveries : Number.NaN,
    };
  } finally {
    await server.call("fanoutStop");
  }
}
