import type { BackoffPolicy } from "./policies.js";
import { type Random, systemRandom } from "./random.js";

/**
 * The delay before retry number `attempt` (0 for the first retry), in whole milliseconds.
 * Pure: the same arguments give the same delay. `previousMs` is the delay returned for
 * the attempt before (only decorrelated jitter uses it).
 */
export function delayFor(
  policy: BackoffPolicy,
  attempt: number,
  random: Random,
  previousMs?: number,
): number {
  switch (policy.kind) {
    case "exponential": {
      // Growth past the cap is clamped; an overflow to Infinity also lands on the cap.
      const grown = policy.baseMs * policy.factor ** Math.min(attempt, 1024);
      const ceiling = Math.min(policy.capMs, Number.isFinite(grown) ? grown : policy.capMs);
      if (policy.jitter === "none") return Math.round(ceiling);
      if (policy.jitter === "equal") return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
      return Math.floor(random() * ceiling);
    }
    case "decorrelated": {
      const previous = previousMs ?? policy.baseMs;
      const upper = Math.max(policy.baseMs, previous * 3);
      return Math.floor(Math.min(policy.capMs, policy.baseMs + random() * (upper - policy.baseMs)));
    }
    case "table": {
      const index = Math.min(attempt, policy.delaysMs.length - 1);
      const nominal = policy.delaysMs[index] ?? 0;
      const spread = nominal * policy.jitterRatio * (random() * 2 - 1);
      return Math.round(Math.min(policy.capMs, Math.max(policy.floorMs, nominal + spread)));
    }
  }
}

/** A stateful walk through a policy's delays; `reset()` starts over (after a healthy period). */
export interface Schedule {
  /** The delay before the next retry in milliseconds, or `undefined` once attempts are spent. */
  next(): number | undefined;
  /** Retries handed out since the last reset. */
  readonly attempt: number;
  /** True once `next()` has returned `undefined`. */
  readonly exhausted: boolean;
  /** The policy whose delays this schedule walks through. */
  readonly policy: BackoffPolicy;
  /** Starts over from the first attempt. */
  reset(): void;
}

/** Options of `createSchedule`. */
export interface ScheduleOptions {
  /**
   * Random source for jitter; pass `seededRandom(seed)` for repeatable sequences.
   * @default Math.random
   */
  readonly random?: Random;
}

/** Creates a schedule that walks through `policy`'s delays, one per `next()`. */
export function createSchedule(policy: BackoffPolicy, options: ScheduleOptions = {}): Schedule {
  const random = options.random ?? systemRandom;
  let attempt = 0;
  let previousMs: number | undefined;
  return {
    policy,
    get attempt() {
      return attempt;
    },
    get exhausted() {
      return attempt >= policy.maxAttempts;
    },
    next() {
      if (attempt >= policy.maxAttempts) return undefined;
      const delay = delayFor(policy, attempt, random, previousMs);
      attempt += 1;
      previousMs = delay;
      return delay;
    },
    reset() {
      attempt = 0;
      previousMs = undefined;
    },
  };
}

/** The largest delay a policy can ever produce, in milliseconds. */
export function maxDelayOf(policy: BackoffPolicy): number {
  return policy.capMs;
}
