import { describe, expect, it } from "vitest";
import { RateMeter } from "../src/monitor/rate.js";

describe("RateMeter", () => {
  it("reads messages per second over the last 5 s", () => {
    const meter = new RateMeter(0);
    for (let t = 0; t < 10_000; t += 100) meter.hit(t);
    expect(meter.perSecond(10_000)).toBeCloseTo(10, 0);
  });

  it("divides by the time watched until 5 s have passed", () => {
    const meter = new RateMeter(0);
    meter.hit(100);
    meter.hit(200);
    expect(meter.perSecond(1000)).toBe(2);
  });

  it("falls to zero once the messages stop", () => {
    const meter = new RateMeter(0);
    for (let t = 0; t < 3000; t += 50) meter.hit(t);
    expect(meter.perSecond(20_000)).toBe(0);
  });
});
