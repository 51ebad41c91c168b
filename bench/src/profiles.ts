/** What `pnpm bench` (quick, under 3 minutes) and `pnpm bench:full` run. */
import type { AcceptParams } from "./scenarios/accept.js";
import type { OverheadParams } from "./scenarios/client-overhead.js";
import type { CrossNodeParams } from "./scenarios/cross-node.js";
import type { FanoutParams } from "./scenarios/fanout.js";
import type { MemoryParams } from "./scenarios/memory.js";
import type { RpcParams } from "./scenarios/rpc.js";
import type { ScaleParams } from "./scenarios/scale.js";
import type { StormParams } from "./scenarios/storm.js";

export interface Profile {
  /**
   * Contenders a scenario leaves out in this profile: the quick one drops serialise-once
   * `ws` from broadcasts (pre-framed is the baseline), Lifeline's other wires from the burst
   * (their targets are on the one-per-tick fan-out) and socket.io from the storm.
   */
  readonly skip: Readonly<Partial<Record<string, readonly string[]>>>;
  readonly fanout: readonly FanoutParams[];
  readonly burst: readonly FanoutParams[];
  readonly rpc: readonly RpcParams[];
  readonly memory: readonly MemoryParams[];
  readonly accept: readonly AcceptParams[];
  readonly storm: readonly StormParams[];
  readonly clientOverhead: readonly OverheadParams[];
  readonly crossNode: readonly CrossNodeParams[];
  readonly scale: readonly ScaleParams[];
}

const fan = (clients: number, runs: number, measureMs: number): FanoutParams => ({
  clients,
  burst: 1,
  window: 32,
  bytes: 200,
  warmupMs: Math.min(500, measureMs),
  measureMs,
  runs,
});

/**
 * Lifeline's WebSocket wires on 4 KB of numeric telemetry, where MessagePack can make a
 * difference that the padded 200-byte message (a string either way) hides.
 */
const telemetry = (clients: number, runs: number, measureMs: number): FanoutParams => ({
  ...fan(clients, runs, measureMs),
  bytes: 4096,
  payload: "telemetry",
  only: { contenders: ["lifeline", "lifeline-msgpack"], baseline: "lifeline" },
});

const burst = (clients: number, runs: number, measureMs: number): FanoutParams => ({
  clients,
  burst: 20,
  window: 80,
  bytes: 200,
  warmupMs: Math.min(500, measureMs),
  measureMs,
  runs,
  // 10 messages every 500 ms to each client (20/s): a load every contender sustains here.
  fixedRate: { burst: 10, everyMs: 500 },
});

const crossNode = (clients: number, runs: number, measureMs: number): CrossNodeParams => ({
  clients,
  window: 32,
  bytes: 200,
  warmupMs: Math.min(500, measureMs),
  measureMs,
  latencyClients: 10,
  // 1,000 messages/s, the rate of the cross-node latency target.
  fixedRate: { burst: 10, everyMs: 10 },
  runs,
});

/**
 * 20 publishes/s, or fewer past 1,000 clients so that every size asks for the same 20,000
 * deliveries/s: on two shared vCPUs, 20/s to 10,000 clients is more than any contender's
 * server (or the one load process) writes, and a contender that falls behind publishes
 * late, so its latency would be measured at a lower rate than the others'
 * (performance-notes.md, "Scale").
 */
const scaleAt = (clients: number): ScaleParams => ({
  clients,
  heartbeatMs: 1000,
  idleMs: 5000,
  publishesPerS: Math.min(20, 20_000 / clients),
  warmupMs: 1000,
  measureMs: 6000,
  runs: 3,
});

export const profiles: Readonly<Record<"quick" | "full", Profile>> = {
  quick: {
    skip: {
      fanout: ["ws"],
      burst: ["ws", "lifeline-msgpack", "lifeline-sse"],
      storm: ["socketio"],
    },
    fanout: [fan(1000, 3, 600), telemetry(1000, 3, 600)],
    burst: [burst(1000, 3, 600)],
    rpc: [{ clients: 100, ratePerS: 2000, warmupMs: 200, measureMs: 700, runs: 3 }],
    memory: [{ clients: 1000, settleMs: 200, runs: 3 }],
    accept: [{ clients: 1000, concurrency: 50, runs: 3 }],
    storm: [{ clients: 500, timeoutMs: 10_000, runs: 3 }],
    clientOverhead: [{ window: 64, bytes: 200, warmupMs: 500, measureMs: 800, runs: 3 }],
    // Two nodes and a redis-server per run: only in the full profile (--only cross-node).
    crossNode: [],
    // Minutes per size at 10k and more: only in the full profile (or --only scale).
    scale: [],
  },
  full: {
    skip: {},
    fanout: [fan(100, 3, 2000), fan(1000, 5, 2000), fan(5000, 3, 2000), telemetry(1000, 5, 2000)],
    burst: [burst(1000, 5, 2000), burst(5000, 3, 2000)],
    rpc: [
      { clients: 1, ratePerS: 2000, warmupMs: 500, measureMs: 2000, runs: 3 },
      { clients: 100, ratePerS: 2000, warmupMs: 500, measureMs: 2000, runs: 5 },
    ],
    memory: [{ clients: 5000, settleMs: 500, runs: 3 }],
    accept: [{ clients: 5000, concurrency: 50, runs: 3 }],
    storm: [{ clients: 2000, timeoutMs: 30_000, runs: 3 }],
    clientOverhead: [{ window: 64, bytes: 200, warmupMs: 500, measureMs: 2000, runs: 5 }],
    crossNode: [crossNode(1000, 5, 2000)],
    scale: [scaleAt(1000), scaleAt(5000), scaleAt(10_000), scaleAt(15_000)],
  },
};
