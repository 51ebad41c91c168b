/**
 * Backoff policies are plain data: easy to pass as an option, log, compare and serialise.
 * `delayFor` (in schedules.ts) turns one into delays.
 */

/** How randomness spreads an exponential delay `d`: none (`d`), full (`[0, d)`), equal (`[d/2, d)`). */
export type Jitter = "none" | "full" | "equal";

/** Exponential backoff: `baseMs * factor^attempt`, capped at `capMs`, then spread by `jitter`. */
export interface ExponentialPolicy {
  /** Tells the policies apart. */
  readonly kind: "exponential";
  /** First delay before jitter, in milliseconds. */
  readonly baseMs: number;
  /** Growth per attempt. */
  readonly factor: number;
  /** Largest delay before jitter, in milliseconds. */
  readonly capMs: number;
  /** Retries allowed; `Infinity` for no end. */
  readonly maxAttempts: number;
  /** How randomness spreads each delay. */
  readonly jitter: Jitter;
}

/**
 * Decorrelated jitter: each delay is random between `baseMs` and three times the previous one,
 * capped at `capMs`.
 */
export interface DecorrelatedPolicy {
  /** Tells the policies apart. */
  readonly kind: "decorrelated";
  /** Smallest delay, in milliseconds. */
  readonly baseMs: number;
  /** Largest delay, in milliseconds. */
  readonly capMs: number;
  /** Retries allowed; `Infinity` for no end. */
  readonly maxAttempts: number;
}

/** An explicit list of delays, each spread by `jitterRatio` and clamped to `[floorMs, capMs]`. */
export interface TablePolicy {
  /** Tells the policies apart. */
  readonly kind: "table";
  /** Delay of each attempt in milliseconds; attempts past the end reuse the last entry. */
  readonly delaysMs: readonly number[];
  /** Each delay is spread by +/- this fraction of itself (0.2 = +/-20 %). */
  readonly jitterRatio: number;
  /** Smallest delay after jitter, in milliseconds. */
  readonly floorMs: number;
  /** Largest delay after jitter, in milliseconds. */
  readonly capMs: number;
  /** Retries allowed; `Infinity` for no end. */
  readonly maxAttempts: number;
}

/** Any backoff policy; `kind` tells which. */
export type BackoffPolicy = ExponentialPolicy | DecorrelatedPolicy | TablePolicy;

/** Options of `exponential()`; each missing one takes its default. */
export interface ExponentialOptions {
  /** @default 1000 */
  readonly baseMs?: number;
  /** @default 2 */
  readonly factor?: number;
  /** @default 30000 */
  readonly capMs?: number;
  /** @default 10 */
  readonly maxAttempts?: number;
  /** @default "full" */
  readonly jitter?: Jitter;
}

/** Options of `decorrelated()`; each missing one takes its default. */
export interface DecorrelatedOptions {
  /** @default 1000 */
  readonly baseMs?: number;
  /** @default 30000 */
  readonly capMs?: number;
  /** @default 10 */
  readonly maxAttempts?: number;
}

/** Options of `table()`; each missing one takes its default. */
export interface TableOptions {
  /** @default [1000, 2000, 4000, 8000, 12000] */
  readonly delaysMs?: readonly number[];
  /** @default 0.2 */
  readonly jitterRatio?: number;
  /** @default 100 */
  readonly floorMs?: number;
  /** @default 12000 */
  readonly capMs?: number;
  /** @default 8 */
  readonly maxAttempts?: number;
}

/** Exponential growth `baseMs * factor^attempt`, capped, then jittered (AWS "full jitter" by default). */
export function exponential(options: ExponentialOptions = {}): ExponentialPolicy {
  return check({
    kind: "exponential",
    baseMs: options.baseMs ?? 1000,
    factor: options.factor ?? 2,
    capMs: options.capMs ?? 30_000,
    maxAttempts: options.maxAttempts ?? 10,
    jitter: options.jitter ?? "full",
  });
}

/** Decorrelated jitter: each delay is random in `[baseMs, 3 * previous]`, capped. */
export function decorrelated(options: DecorrelatedOptions = {}): DecorrelatedPolicy {
  return check({
    kind: "decorrelated",
    baseMs: options.baseMs ?? 1000,
    capMs: options.capMs ?? 30_000,
    maxAttempts: options.maxAttempts ?? 10,
  });
}

/** An explicit table of delays with a +/- ratio jitter, a floor and a cap. */
export function table(options: TableOptions = {}): TablePolicy {
  return check({
    kind: "table",
    delaysMs: options.delaysMs ?? [1000, 2000, 4000, 8000, 12_000],
    jitterRatio: options.jitterRatio ?? 0.2,
    floorMs: options.floorMs ?? 100,
    capMs: options.capMs ?? 12_000,
    maxAttempts: options.maxAttempts ?? 8,
  });
}

function check<P extends BackoffPolicy>(policy: P): P {
  const fail = (what: string): never => {
    throw new RangeError(`backoff ${policy.kind}: ${what}`);
  };
  const nonNegative = (name: string, value: number) => {
    if (!(Number.isFinite(value) && value >= 0)) fail(`${name} must be a finite number >= 0`);
  };
  if (
    !(policy.maxAttempts >= 0) ||
    !(Number.isInteger(policy.maxAttempts) || policy.maxAttempts === Number.POSITIVE_INFINITY)
  ) {
    fail("maxAttempts must be an integer >= 0 or Infinity");
  }
  nonNegative("capMs", policy.capMs);
  switch (policy.kind) {
    case "exponential":
      nonNegative("baseMs", policy.baseMs);
      if (!(Number.isFinite(policy.factor) && policy.factor >= 1)) fail("factor must be >= 1");
      break;
    case "decorrelated":
      nonNegative("baseMs", policy.baseMs);
      if (policy.baseMs > policy.capMs) fail("baseMs must not exceed capMs");
      break;
    case "table":
      if (policy.delaysMs.length === 0) fail("delaysMs must not be empty");
      for (const d of policy.delaysMs) nonNegative("every delay", d);
      if (!(policy.jitterRatio >= 0 && policy.jitterRatio <= 1))
        fail("jitterRatio must be in [0, 1]");
      nonNegative("floorMs", policy.floorMs);
      if (policy.floorMs > policy.capMs) fail("floorMs must not exceed capMs");
      break;
  }
  return policy;
}
