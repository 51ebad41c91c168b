import { describe, expect, it } from "vitest";
import { KeyedBuckets, TokenBucket, ViolationCounter } from "../src/rate-limit.js";

describe("token bucket", () => {
  it("allows a burst, then refills at the rate", () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(bucket.take(99)).toBe(false);
    expect(bucket.take(100)).toBe(true);
    expect(bucket.take(100)).toBe(false);
  });

  it("never holds more than the burst", () => {
    const bucket = new TokenBucket(100, 2, 0);
    const taken = [0, 0, 0].map(() => bucket.take(60_000));
    expect(taken).toEqual([true, true, false]);
  });

  it("ignores a clock that goes backwards", () => {
    const bucket = new TokenBucket(1, 1, 1000);
    expect(bucket.take(1000)).toBe(true);
    expect(bucket.take(500)).toBe(false);
  });
});

describe("keyed buckets", () => {
  const options = { perSecond: 2, burst: 3, maxKeys: 100 };

  it("gives each key its own burst and refill", () => {
    const buckets = new KeyedBuckets(options, 0);
    const a = [0, 0, 0, 0].map(() => buckets.take("a", 0));
    expect(a).toEqual(["ok", "ok", "ok", "first"]);
    expect(buckets.take("a", 0)).toBe("refused");
    expect(buckets.take("b", 0)).toBe("ok");
    expect(buckets.take("a", 499)).toBe("refused");
    expect(buckets.take("a", 500)).toBe("ok");
    // Taking each token as it refills is the same run: not logged again.
    expect(buckets.take("a", 500)).toBe("refused");
    // Held back until full again (1.5 s), the next refusal starts a new run.
    const later = [2000, 2000, 2000, 2000].map((t) => buckets.take("a", t));
    expect(later).toEqual(["ok", "ok", "ok", "first"]);
  });

  it("forgets a key once its bucket has refilled, checking at most once per refill time", () => {
    const buckets = new KeyedBuckets(options, 0);
    buckets.take("a", 0);
    buckets.take("b", 1200);
    expect(buckets.size).toBe(2);
    // The refill time is 1.5 s: nothing is swept before it.
    buckets.take("c", 1499);
    expect(buckets.size).toBe(3);
    // At 1.5 s a has refilled; b and c are still refilling.
    buckets.take("c", 1500);
    expect([buckets.has("a"), buckets.has("b"), buckets.has("c")]).toEqual([false, true, true]);
  });

  it("holds at most maxKeys, forgetting the oldest", () => {
    const buckets = new KeyedBuckets({ ...options, maxKeys: 2 }, 0);
    for (const key of ["a", "b", "c"]) buckets.take(key, 0);
    expect(buckets.size).toBe(2);
    expect([buckets.has("a"), buckets.has("b"), buckets.has("c")]).toEqual([false, true, true]);
  });

  it("keeps a key seen once exactly as a bucket that took one token then", () => {
    const buckets = new KeyedBuckets({ perSecond: 2, burst: 2, maxKeys: 100 }, 0);
    expect(buckets.take("a", 100)).toBe("ok");
    // Half a token refilled since: 1.5 tokens make one more take, then refusals.
    expect([350, 350, 350].map((t) => buckets.take("a", t))).toEqual(["ok", "first", "refused"]);
    expect(buckets.take("a", 599)).toBe("refused");
    expect(buckets.take("a", 600)).toBe("ok");
  });

  it("refuses every take when the burst is below one token", () => {
    const buckets = new KeyedBuckets({ perSecond: 2, burst: 0, maxKeys: 100 }, 0);
    expect([0, 0].map((t) => buckets.take("a", t))).toEqual(["first", "refused"]);
  });

  it("remembers nothing when the burst is unlimited", () => {
    const buckets = new KeyedBuckets({ ...options, burst: Number.POSITIVE_INFINITY }, 0);
    for (let i = 0; i < 10; i += 1) expect(buckets.take("a", 0)).toBe("ok");
    expect(buckets.size).toBe(0);
  });
});

describe("violation counter", () => {
  it("trips after more than max violations within the window", () => {
    const counter = new ViolationCounter(2, 1000);
    expect([counter.record(0), counter.record(10), counter.record(20)]).toEqual([
      false,
      false,
      true,
    ]);
  });

  it("starts over in a new window", () => {
    const counter = new ViolationCounter(1, 1000);
    expect(counter.record(0)).toBe(false);
    expect(counter.record(1000)).toBe(false);
    expect(counter.record(1001)).toBe(true);
  });
});
