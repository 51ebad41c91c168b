import { describe, expect, it } from "vitest";
import { TokenBucket, ViolationCounter } from "../src/rate-limit.js";

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
