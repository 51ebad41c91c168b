/** What `pnpm bench` (quick, under 3 minutes) and `pnpm bench:full` run. */
import type { AcceptParams } from "./scenarios/accept.js";
import type { OverheadParams } from "./scenarios/client-overhead.js";
import type { FanoutParams } from "./scenarios/fanout.js";
import type { MemoryParams } from "./scenarios/memory.js";
import type { RpcParams } from "./scenarios/rpc.js";
import type { StormParams } from "./scenarios/storm.js";

export interface Profile {
  readonly fanout: readonly FanoutParams[];
  readonly burst: readonly FanoutParams[];
  readonly rpc: readonly RpcParams[];
  readonly memory: readonly MemoryParams[];
  readonly accept: readonly AcceptParams[];
  readonly storm: readonly StormParams[];
  readonly clientOverhead: readonly OverheadParams[];
}

const fan = (clients: number, runs: number, measureMs: number): FanoutParams => ({
  clients,
  burst: 1,
  window: 32,
  bytes: 200,
  warmupMs: 500,
  measureMs,
  runs,
});

const burst = (clients: number, runs: number, measureMs: number): FanoutParams => ({
  clients,
  burst: 20,
  window: 80,
  bytes: 200,
  warmupMs: 500,
  measureMs,
  runs,
});

export const profiles: Readonly<Record<"quick" | "full", Profile>> = {
  quick: {
    fanout: [fan(1000, 3, 1000)],
    burst: [burst(1000, 3, 1000)],
    rpc: [{ clients: 100, ratePerS: 2000, warmupMs: 200, measureMs: 1000, runs: 3 }],
    memory: [{ clients: 2000, settleMs: 200, runs: 3 }],
    accept: [{ clients: 1000, concurrency: 50, runs: 3 }],
    storm: [{ clients: 2000, timeoutMs: 20_000, runs: 3 }],
    clientOverhead: [{ window: 64, bytes: 200, warmupMs: 300, measureMs: 1000, runs: 3 }],
  },
  full: {
    fanout: [fan(100, 5, 3000), fan(1000, 5, 3000), fan(5000, 3, 3000)],
    burst: [burst(1000, 5, 3000), burst(5000, 3, 3000)],
    rpc: [
      { clients: 1, ratePerS: 2000, warmupMs: 500, measureMs: 3000, runs: 5 },
      { clients: 100, ratePerS: 2000, warmupMs: 500, measureMs: 3000, runs: 5 },
    ],
    memory: [{ clients: 5000, settleMs: 500, runs: 3 }],
    accept: [{ clients: 5000, concurrency: 50, runs: 5 }],
    storm: [{ clients: 2000, timeoutMs: 30_000, runs: 5 }],
    clientOverhead: [{ window: 64, bytes: 200, warmupMs: 500, measureMs: 3000, runs: 5 }],
  },
};
