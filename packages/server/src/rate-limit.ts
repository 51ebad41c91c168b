/**
 * A token bucket (issue 3: default 100 messages/s, burst 200). A class with plain fields
 * (no closure per connection); pure apart from the time it is given.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

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
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
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
