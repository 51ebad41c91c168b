/**
 * Cross-node fan-out on the Redis broker against one node on the in-memory broker, in the
 * same run (packages/redis README, "Benchmark"). Each contender is one or two server
 * processes; the clients are in the load process as everywhere else:
 *
 * - `memory`: publish and receive on one node with the in-memory broker (the baseline);
 * - `redis-one-node`: the same on the Redis broker (the cost of Redis alone);
 * - `redis-a-to-b`: node A publishes, node B's clients receive (the cost of crossing nodes:
 *   an append script on Redis, one pub/sub hop, and B's decoding).
 *
 * Max rate: `clients` subscribers on the receiving node, publishes as fast as a window of
 * undelivered messages per client lets the publisher go (server-main.ts flow control, fed
 * by the load process straight to the publishing node). Latency: `latencyClients`
 * subscribers every one of which is timed, at a fixed offered rate (`fixedRate`).
 */
import { startRedisServer } from "@lifeline/test-support";
import type { ServerKind } from "../contenders/types.js";
import {
  type Harness,
  type MetricSpec,
  repeat,
  type ScenarioResult,
  sleep,
  stopServer,
} from "../harness.js";
import type { Worker } from "../ipc.js";
import type { MeasureResult } from "../load-main.js";
import type { CpuSnapshot, FanoutOptions } from "../server-main.js";

export interface CrossNodeParams {
  readonly clients: number;
  readonly window: number;
  readonly bytes: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly latencyClients: number;
  /** `burst` messages every `everyMs` in the latency phase: 10 every 10 ms is 1,000/s. */
  readonly fixedRate: { readonly burst: number; readonly everyMs: number };
  readonly runs: number;
}

export const CROSS_NODE_CONTENDERS = ["memory", "redis-one-node", "redis-a-to-b"] as const;
type CrossNodeContender = (typeof CROSS_NODE_CONTENDERS)[number];

/** The server processes of a contender: the publisher first, the receiver last. */
function serversOf(contender: string): readonly ServerKind[] {
  switch (contender as CrossNodeContender) {
    case "memory":
      return ["lifeline"];
    case "redis-one-node":
      return ["lifeline-redis"];
    case "redis-a-to-b":
      return ["lifeline-redis", "lifeline-redis"];
  }
}

const METRICS: readonly MetricSpec[] = [
  { id: "rate", label: "delivered msgs/s at max rate", unit: "msg/s", better: "higher", digits: 0 },
  {
    id: "cpu",
    label: "CPU per delivery, all server processes",
    unit: "µs",
    better: "lower",
    digits: 2,
  },
  { id: "p99", label: "delivery latency p99 at max rate", unit: "ms", better: "lower", digits: 1 },
  { id: "fixedP50", label: "latency p50 at fixed rate", unit: "ms", better: "lower", digits: 2 },
  { id: "fixedP99", label: "latency p99 at fixed rate", unit: "ms", better: "lower", digits: 2 },
];

interface Listening {
  readonly worker: Worker;
  readonly port: number;
  readonly controlPort: number;
}

async function listen(harness: Harness, kind: ServerKind): Promise<Listening> {
  const worker = await harness.spawnServer(kind);
  const { port, controlPort } = await worker.call<{ port: number; controlPort: number }>("listen", {
    port: 0,
  });
  return { worker, port, controlPort };
}

/** Every server process's CPU, summed. */
async function cpuOf(servers: readonly Listening[]): Promise<number> {
  const snapshots = await Promise.all(servers.map((s) => s.worker.call<CpuSnapshot>("cpu")));
  return snapshots.reduce((sum, s) => sum + s.userUs + s.systemUs, 0);
}

/**
 * One phase: `count` subscribers on the receiving node, the publisher running `fanout`
 * (flow-controlled, or at a fixed rate); returns deliveries/s, CPU per delivery and latency.
 */
async function phase(
  harness: Harness,
  servers: readonly Listening[],
  count: number,
  fanout: FanoutOptions,
  params: CrossNodeParams,
): Promise<{ rate: number; cpu: number; latency: MeasureResult["latency"] }> {
  const publisher = servers[0] as Listening;
  const receiver = servers.at(-1) as Listening;
  const load = await harness.load();
  await load.call("connect", {
    wire: "lifeline",
    port: receiver.port,
    count,
    subscribe: true,
    concurrency: 200,
    sample: Math.min(16, count),
    progressStep: Math.max(1, Math.floor((count * params.window) / 4)),
    controlPort: publisher.controlPort,
    mode: "fanout",
  });
  try {
    await publisher.worker.call("fanoutStart", fanout);
    await sleep(params.warmupMs);
    const [c0, l0] = await Promise.all([cpuOf(servers), load.call<MeasureResult>("measureStart")]);
    await sleep(params.measureMs);
    const [c1, l1] = await Promise.all([cpuOf(servers), load.call<MeasureResult>("measureStop")]);
    await publisher.worker.call("fanoutStop");
    const deliveries = l1.delivered - l0.delivered;
    if (deliveries <= 0) throw new Error("no message delivered");
    return {
      rate: deliveries / ((l1.t - l0.t) / 1000),
      cpu: (c1 - c0) / deliveries,
      latency: l1.latency,
    };
  } finally {
    await load.call("closeAll");
  }
}

export async function crossNode(
  harness: Harness,
  params: CrossNodeParams,
): Promise<ScenarioResult> {
  const redis = await startRedisServer();
  harness.useRedis(redis.url);
  const id = `cross-node-${params.clients}`;
  try {
    const runs = await repeat(
      harness,
      id,
      CROSS_NODE_CONTENDERS,
      params.runs,
      async (contender) => {
        // Fresh processes every run: the Redis broker keeps per-topic state.
        const servers = await Promise.all(serversOf(contender).map((k) => listen(harness, k)));
        try {
          const max = await phase(
            harness,
            servers,
            params.clients,
            {
              clients: params.clients,
              window: params.window,
              burst: 1,
              bytes: params.bytes,
            },
            params,
          );
          const fixed = await phase(
            harness,
            servers,
            params.latencyClients,
            {
              clients: params.latencyClients,
              window: params.window,
              burst: params.fixedRate.burst,
              bytes: params.bytes,
              intervalMs: params.fixedRate.everyMs,
            },
            params,
          );
          return {
            rate: max.rate,
            cpu: max.cpu,
            p99: max.latency.p99,
            fixedP50: fixed.latency.p50,
            fixedP99: fixed.latency.p99,
          };
        } finally {
          await Promise.all(servers.map((s) => stopServer(s.worker)));
        }
      },
      serversOf,
    );
    const baseline = "memory";
    const perSecond = (1000 * params.fixedRate.burst) / params.fixedRate.everyMs;
    return {
      id,
      title: `Cross-node fan-out on Redis, ${params.clients.toLocaleString("en")} clients`,
      description: `Node A publishes ${params.bytes}-byte messages and ${params.clients.toLocaleString("en")} clients of node B receive them through a real redis-server (redis-a-to-b), against one node with the in-memory broker (memory) and one node on Redis (redis-one-node), as fast as a window of ${params.window} undelivered messages per client allows. CPU per delivery sums every server process of the contender (not redis-server). Latency is then measured at a fixed ${perSecond.toLocaleString("en")} messages/s (${params.fixedRate.burst} every ${params.fixedRate.everyMs} ms) to ${params.latencyClients} clients, from publish on node A to arrival in the load process.`,
      params: { ...params },
      baseline,
      contenders: CROSS_NODE_CONTENDERS,
      metrics: METRICS.map((spec) => runs.metric(spec, CROSS_NODE_CONTENDERS, baseline)),
      chartMetrics: ["rate", "fixedP99"],
      notes: [],
      errors: runs.errors,
    };
  } finally {
    harness.useRedis(undefined);
    await redis.dispose();
  }
}
