import { describe, expect, it } from "vitest";
import { spreadDelays } from "../src/shutdown.js";

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) % 2 ** 32;
    return state / 2 ** 32;
  };
}

describe("reconnect spread", () => {
  it("spreads delays evenly over the window, above the base", () => {
    const delays = spreadDelays(1000, 1000, 10_000, seeded(1));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(11_000);
    const perSecond = new Array(10).fill(0);
    for (const delay of delays) perSecond[Math.min(9, Math.floor((delay - 1000) / 1000))] += 1;
    // 1,000 clients over 10 s: about 100 per second, never a stampede.
    for (const count of perSecond) expect(count).toBeLessThanOrEqual(110);
    for (const count of perSecond) expect(count).toBeGreaterThanOrEqual(90);
  });

  it("does not hand the smallest delays to the first connections", () => {
    const delays = spreadDelays(100, 0, 10_000, seeded(7));
    const sorted = [...delays].sort((a, b) => a - b);
    expect(delays).not.toEqual(sorted);
  });

  it("handles no clients and a zero window", () => {
    expect(spreadDelays(0, 1000, 1000, Math.random)).toEqual([]);
    expect(spreadDelays(3, 500, 0, Math.random)).toEqual([500, 500, 500]);
  });
});
