import { type BackoffPolicy, exponential, table } from "./policies.js";

/** Ready-made policies. Every one is a plain, frozen `BackoffPolicy`. */
export const presets = Object.freeze({
  /** Exponential, full jitter, 1 s base, factor 2, 30 s cap, 10 attempts: the client's default. */
  default: exponential(),
  /** The table `[1, 2, 4, 8, 12] s`, +/-20 %, floor 100 ms, cap 12 s, 8 attempts. */
  table: table(),
  /** About 100 ms every time (+/-20 %), 10 attempts: for tests and local development. */
  immediate: table({ delaysMs: [100], jitterRatio: 0.2, floorMs: 50, capMs: 120, maxAttempts: 10 }),
  /** Exponential, full jitter, 250 ms base, 4 s cap, 10 attempts: quick recovery on a reliable network. */
  aggressive: exponential({ baseMs: 250, capMs: 4000, maxAttempts: 10 }),
} satisfies Record<string, BackoffPolicy>);
