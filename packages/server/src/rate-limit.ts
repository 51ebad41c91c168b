/**
 * A token bucket (default 100 messages/s, burst 200: PROTOCOL.md, "Limits"). A class with
 * plain fields (no closure per connection); pure apart from the time it is given.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  /**
   * Refusals since the bucket was last full: 1 marks the first of a run, which is logged.
   * A client that keeps pushing takes each token as it refills, so only a full bucket (it
   * held back for a whole refill time) starts a new run and a new log line.
   */
  refusals = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.last = nowMs;
  }

  /** Takes one token at time `nowMs`; false when the bucket is empty. */
  take(nowMs: number): boolean {
    if (nowMs > this.last) {
      this.tokens = Math.min(
        this.burst,
        this.tokens + ((nowMs - this.last) * this.perSecond) / 1000,
      );
      this.last = nowMs;
      if (this.tokens >= this.burst) this.refusals = 0;
    }
    if (this.tokens < 1) {
      this.refusals += 1;
      return false;
    }
    this.tokens -= 1;
    return true;
  }

  /** True when the bucket has refilled to its burst by `nowMs`: it then remembers nothing. */
  isFull(nowMs: number): boolean {
    return (
      this.tokens + ((Math.max(nowMs, this.last) - this.last) * this.perSecond) / 1000 >= this.burst
    );
  }
}

export interface KeyedBucketsOptions {
  readonly perSecond: number;
  readonly burst: number;
  /** Most keys held at once; past it the oldest is forgotten (its budget starts afresh). */
  readonly maxKeys: number;
}

/** The answer of `KeyedBuckets.take`: `first` is the first refusal of a run, to be logged. */
export type TakeResult = "ok" | "first" | "refused";

/**
 * One token bucket per key (a remote address, a client_id), for rates of things that
 * outlive any connection, such as handshakes. A bucket that has refilled to its burst is
 * the same as none, so buckets are dropped once full (checked at most once per refill
 * time) and memory follows the keys active within that time, never exceeding `maxKeys`.
 */
export class KeyedBuckets {
  /**
   * A key's bucket, or the time it took its first token: a full bucket that took one token
   * is told by that time alone, and most keys (a client_id connecting once) never take a
   * second, so the bucket object is made only by the second take.
   */
  private readonly buckets = new Map<string, TokenBucket | number>();
  private readonly refillMs: number;
  private lastSweep: number;

  constructor(
    private readonly options: KeyedBucketsOptions,
    nowMs: number,
  ) {
    this.refillMs = options.perSecond > 0 ? (options.burst * 1000) / options.perSecond : 0;
    this.lastSweep = nowMs;
  }

  get size(): number {
    return this.buckets.size;
  }

  has(key: string): boolean {
    return this.buckets.has(key);
  }

  /** Takes a token from `key`'s bucket, made full if there is none. */
  take(key: string, nowMs: number): TakeResult {
    if (this.options.burst === Number.POSITIVE_INFINITY) return "ok";
    this.sweep(nowMs);
    const { perSecond, burst } = this.options;
    const held = this.buckets.get(key);
    let bucket: TokenBucket;
    if (held === undefined) {
      if (this.buckets.size >= this.options.maxKeys) {
        // Map order is insertion order: the first key is the one held longest.
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      if (burst >= 1) {
        // A new bucket is full: its first take succeeds, and the time is all it has to keep.
        this.buckets.set(key, nowMs);
        return "ok";
      }
      bucket = new TokenBucket(perSecond, burst, nowMs);
      this.buckets.set(key, bucket);
    } else if (typeof held === "number") {
      bucket = new TokenBucket(perSecond, burst, held);
      bucket.take(held);
      this.buckets.set(key, bucket);
    } else {
      bucket = held;
    }
    if (bucket.take(nowMs)) return "ok";
    return bucket.refusals === 1 ? "first" : "refused";
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweep < Math.max(this.refillMs, 1000)) return;
    this.lastSweep = nowMs;
    const { perSecond, burst } = this.options;
    for (const [key, held] of this.buckets) {
      // A bucket known by its first take's time holds burst - 1 tokens since that time.
      const full =
        typeof held === "number"
          ? burst - 1 + ((Math.max(nowMs, held) - held) * perSecond) / 1000 >= burst
          : held.isFull(nowMs);
      if (full) this.buckets.delete(key);
    }
  }
}

/**
 * Counts violations (invalid or rate-limited messages) in a window; `record` answers true
 * once there were more than `max` within `windowMs`, which closes the connection with 1008.
 */
export class ViolationCounter {
  // A fixed window start + count is enough: abuse is a burst, not a pattern.
  private windowStart = Number.NEGATIVE_INFINITY;
  private count = 0;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  record(nowMs: number): boolean {
    if (nowMs - this.windowStart >= this.windowMs) {
      this.windowStart = nowMs;
      this.count = 0;
    }
    this.count += 1;
    return this.count > this.max;
  }
}
