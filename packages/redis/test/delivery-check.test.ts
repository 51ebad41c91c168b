import { describe, expect, it } from "vitest";
import { checkDeliveries, type Position } from "./delivery-check.js";

const at = (epoch: string, ...offsets: number[]): Position[] =>
  offsets.map((offset) => ({ epoch, offset }));

// The cluster tests trust this checker to catch loss, repeats and disorder: it is tested too.
describe("checkDeliveries", () => {
  it("accepts consecutive offsets in one epoch", () => {
    expect(checkDeliveries(at("e", 1, 2, 3))).toEqual({
      count: 3,
      duplicates: [],
      gaps: [],
      outOfOrder: [],
      epochs: ["e"],
      first: { epoch: "e", offset: 1 },
      last: { epoch: "e", offset: 3 },
    });
  });

  it("reports a repeated offset as a duplicate, even after later ones", () => {
    const report = checkDeliveries(at("e", 1, 2, 3, 2));
    expect(report.duplicates).toEqual(at("e", 2));
    expect(report.gaps).toEqual([]);
  });

  it("reports skipped offsets as a gap with its range", () => {
    expect(checkDeliveries(at("e", 1, 2, 5, 6)).gaps).toEqual([{ epoch: "e", from: 3, to: 4 }]);
  });

  it("reports an offset arriving after a higher one as out of order", () => {
    const report = checkDeliveries(at("e", 1, 3, 2));
    expect(report.outOfOrder).toEqual(at("e", 2));
    expect(report.gaps).toEqual([{ epoch: "e", from: 2, to: 2 }]);
  });

  it("starts over in a new epoch and lists the epochs in order", () => {
    const report = checkDeliveries([...at("old", 1, 2), ...at("new", 1, 2)]);
    expect(report).toMatchObject({ epochs: ["old", "new"], duplicates: [], gaps: [] });
  });
});
