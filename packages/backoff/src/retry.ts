import type { BackoffPolicy } from "./policies.js";
import { presets } from "./presets.js";
import type { Random } from "./random.js";
import { createSchedule } from "./schedules.js";

/** What `retry` passes to each call of the operation. */
export interface RetryContext {
  /** 0 for the first call, then one more per retry. */
  readonly attempt: number;
  /** Aborted when the caller's signal aborts. */
  readonly signal: AbortSignal;
}

/** Options of `retry`: the policy, when to give up, and an abort signal. */
export interface RetryOptions {
  /** @default presets.default */
  readonly policy?: BackoffPolicy;
  /** Stops waiting and calling; `retry` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Whether a failure is worth another try; return false to reject at once.
   * @default () => true
   */
  readonly shouldRetry?: (error: unknown, context: RetryContext) => boolean;
  /** Called before each wait with the failure and the delay chosen. */
  readonly onRetry?: (error: unknown, delayMs: number, context: RetryContext) => void;
  /** @default Math.random */
  readonly random?: Random;
  /**
   * Waits `ms` unless `signal` aborts first; swap in a fake for tests.
   * @default a setTimeout-based sleep
   */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Calls `fn` until it resolves, waiting the policy's delays between failures. Rejects with
 * the last error once attempts are spent or `shouldRetry` says no, and with the abort reason
 * when `signal` aborts.
 */
export async function retry<T>(
  fn: (context: RetryContext) => Promise<T> | T,
  options: RetryOptions = {},
): Promise<T> {
  const signal = options.signal ?? new AbortController().signal;
  const schedule = createSchedule(options.policy ?? presets.default, {
    ...(options.random ? { random: options.random } : {}),
  });
  const sleep = options.sleep ?? abortableSleep;
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    const context: RetryContext = { attempt, signal };
    try {
      return await fn(context);
    } catch (error) {
      signal.throwIfAborted();
      if (options.shouldRetry && !options.shouldRetry(error, context)) throw error;
      const delayMs = schedule.next();
      if (delayMs === undefined) throw error;
      options.onRetry?.(error, delayMs, context);
      await sleep(delayMs, signal);
    }
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
