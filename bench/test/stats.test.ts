import { describe, expect, it } from "vitest";
import { percentile, Samples, summarise } from "../src/stats.js";

describe("summarise", () => {
  it("gives the median of an odd and of an even number of runs, with min and max", () => {
    expect(summarise([3, 1, 2])).toMatchObject({ median: 2, min: 1, max: 3 });
    expect(summarise([4, 1, 3, 2])).toMatchObject({ median: 2.5, min: 1, max: 4 });
  });

  it("ignores failed runs (NaN) and answers NaN when nothing was measured", () => {
    expect(summarise([Number.NaN, 5, 7]).median).toBe(6);
    expect(summarise([]).median).toBeNaN();
  });
});

describe("percentile", () => {
  it("uses the nearest rank", () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 100, 50)).toBe(50);
    expect(percentile(values, 100, 99)).toBe(99);
    expect(percentile(values, 100, 100)).toBe(100);
  });

  it("reads only the first `count` values", () => {
    expect(percentile([5, 1, 1000], 2, 100)).toBe(5);
  });
});

describe("Samples", () => {
  it("keeps the first values up to its capacity and counts all of them", () => {
    const samples = new Samples(2);
    for (const v of [1, 2, 3]) samples.add(v);
    expect(samples.summary()).toMatchObject({ count: 3, max: 2 });
    samples.reset();
    expect(samples.summary().count).toBe(0);
  });
});
