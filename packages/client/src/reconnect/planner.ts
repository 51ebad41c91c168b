import { type BackoffPolicy, createSchedule, exponential } from "@lifeline/backoff";
import { describeCloseCode } from "@lifeline/protocol";

/** A delay policy from `@lifeline/backoff` (`exponential(...)`, `table(...)`, `presets.*`). */
export type { BackoffPolicy };

/**
 * The default (the client README, "Reconnecting"): exponential, full jitter, 1 s base, factor 2, 30 s cap, 10 attempts.
 * With full jitter the first retry waits a random time in [0, 1 s): fast, but never every
 * client at the same instant.
 */
export function defaultBackoff(): BackoffPolicy {
  return exponential({ baseMs: 1000, factor: 2, capMs: 30_000, maxAttempts: 10, jitter: "full" });
}

/** How much harder 4429/1013 ("slow down") back off than the schedule. */
export interface SlowDownOptions {
  /**
   * The smallest delay after 4429 or 1013, in milliseconds.
   * @default 5000
   */
  readonly floorMs?: number;
  /**
   * The schedule's delay is multiplied by this and added to `floorMs`.
   * @default 3
   */
  readonly multiplier?: number;
  /**
   * The largest delay after 4429 or 1013, in milliseconds.
   * @default 120000
   */
  readonly capMs?: number;
}

export type RetryPlan =
  | { readonly retry: true; readonly delayMs: number; readonly attempt: number }
  | { readonly retry: false; readonly reason: string };

export interface PlanInput {
  /** Close code of the socket that ended, when it ended with one. */
  readonly code?: number;
  /** `reconnect_after_ms` from the server's `shutdown` message: the delay is at least this. */
  readonly serverFloorMs?: number;
  /** The server refused the upgrade for load (HTTP 429/503): back off as for 4429. */
  readonly overloaded?: boolean;
  /**
   * The node was unavailable and another URL has not refused yet in this round: try it
   * without a backoff delay, waiting only `serverFloorMs` when given. The schedule is not
   * advanced (the round's last refusal advances it), so retries stay bounded.
   */
  readonly failover?: boolean;
}

export interface ReconnectPlanner {
  /** Retries planned since the last `reset()`. */
  readonly attempt: number;
  /** Decides whether and when to try again after a connection ended. */
  plan(input: PlanInput): RetryPlan;
  /** Called once a connection stayed healthy long enough: the next drop starts from the first delay. */
  reset(): void;
}

export function createReconnectPlanner(options: {
  readonly policy: BackoffPolicy;
  readonly random: () => number;
  readonly slowDown?: SlowDownOptions;
}): ReconnectPlanner {
  const schedule = createSchedule(options.policy, { random: options.random });
  const random = options.random;
  const slowFloorMs = options.slowDown?.floorMs ?? 5000;
  const slowMultiplier = options.slowDown?.multiplier ?? 3;
  const slowCapMs = options.slowDown?.capMs ?? 120_000;
  let attempt = 0;

  /**
   * The server announced when to come back (`shutdown.reconnect_after_ms`): wait at least
   * that long, then spread the herd over half that time again (at least 1 s).
   */
  const afterFloor = (floorMs: number) =>
    Math.round(floorMs + random() * Math.max(1000, floorMs / 2));

  return {
    get attempt() {
      return attempt;
    },
    reset() {
      attempt = 0;
      schedule.reset();
    },
    plan({ code, serverFloorMs, overloaded, failover }) {
      const retryClass = overloaded
        ? "slow"
        : code === undefined
          ? "backoff"
          : describeCloseCode(code).retry;
      if (retryClass === "fatal") {
        return {
          retry: false,
          reason: `close code ${code} is fatal: retrying would fail the same way`,
        };
      }
      if (retryClass === "none" && serverFloorMs === undefined) {
        return { retry: false, reason: "the server closed the connection normally (1000)" };
      }
      if (failover) {
        attempt += 1;
        const delayMs = serverFloorMs === undefined ? 0 : afterFloor(serverFloorMs);
        return { retry: true, delayMs, attempt };
      }
      const next = schedule.next();
      if (next === undefined) {
        return { retry: false, reason: `gave up after ${attempt} attempts` };
      }
      attempt += 1;
      if (serverFloorMs !== undefined) {
        return { retry: true, delayMs: afterFloor(serverFloorMs), attempt };
      }
      if (retryClass === "slow") {
        const delayMs = Math.min(slowCapMs, slowFloorMs + next * slowMultiplier);
        return { retry: true, delayMs: Math.round(delayMs), attempt };
      }
      return { retry: true, delayMs: Math.round(next), attempt };
    },
  };
}
