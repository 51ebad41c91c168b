/**
 * A token bucket (issue 3: default 100 messages/s, burst 200). Pure apart from the time
 * it is given, so tests drive it with plain numbers.
 */
export interface TokenBucket {
  /** Takes one token at time `nowMs`; false when the bucket is empty. */
  take(nowMs: number): boolean;
}

export function createTokenBucket(perSecond: number, burst: number, nowMs: number): TokenBucket {
  let tokens = burst;
  let last = nowMs;
  return {
    take(now) {
      if (now > last) {
        tokens = Math.min(burst, tokens + ((now - last) * perSecond) / 1000);
        last = now;
      }
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

/**
 * Counts violations (invalid or rate-limited messages) in a sliding window; `record`
 * answers true once there were more than `max` within `windowMs`, which closes the
 * connection with 1008.
 */
export interface ViolationCounter {
  record(nowMs: number): boolean;
}

export function createViolationCounter(max: number, windowMs: number): ViolationCounter {
  // A fixed-size window start + count is enough: abuse is a burst, not a pattern.
  let windowStart = Number.NEGATIVE_INFINITY;
  let count = 0;
  return {
    record(now) {
      if (now - windowStart >= windowMs) {
        windowStart = now;
        count = 0;
      }
      count += 1;
      return count > max;
    },
  };
}
