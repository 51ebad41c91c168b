import { applyMergePatch } from "@lifeline/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDeltaTracker } from "../src/deltas.js";
import { createFakeClock } from "./helpers.js";

const options = { fullEvery: 3, fullIntervalMs: 1000, maxKeys: 100 };

describe("delta tracker", () => {
  it("sends a full state first, then one in fullEvery, and after fullIntervalMs", () => {
    const clock = createFakeClock();
    const tracker = createDeltaTracker(options, clock);
    const kinds = () => ("full" in tracker.next("t", "k", { n: 1 }).data ? "full" : "delta");
    expect([kinds(), kinds(), kinds(), kinds(), kinds()]).toEqual([
      "full",
      "delta",
      "delta",
      "full",
      "delta",
    ]);
    clock.advance(1000);
    expect(kinds()).toBe("full");
    expect(kinds()).toBe("delta");
  });

  it("refuses a new key past maxKeys with a clear error until one is forgotten", () => {
    const tracker = createDeltaTracker({ ...options, maxKeys: 2 }, createFakeClock());
    tracker.next("t", "a", { n: 1 });
    tracker.next("t", "b", { n: 1 });
    expect(() => tracker.next("t", "c", { n: 1 })).toThrow(
      expect.objectContaining({ code: "LIFELINE_DELTA_KEY_LIMIT" }),
    );
    expect(tracker.next("t", "a", { n: 2 }).data).toEqual({ key: "a", changes: { n: 2 } });
    tracker.forget("t", "b");
    expect(tracker.next("t", "c", { n: 1 }).data).toEqual({ key: "c", full: { n: 1 } });
  });

  it("undo takes refused changes back; resend makes the next message full", () => {
    const tracker = createDeltaTracker(options, createFakeClock());
    tracker.next("t", "a", { n: 1, m: 1 });
    const refused = tracker.next("t", "a", { n: "bad" });
    tracker.undo("t", "a", refused);
    expect(tracker.next("t", "a", { m: 2 })).toEqual({
      data: { key: "a", changes: { m: 2 } },
      latest: { key: "a", full: { n: 1, m: 2 } },
    });
    tracker.resend("t", "a");
    expect(tracker.next("t", "a", { m: 3 }).data).toEqual({ key: "a", full: { n: 1, m: 3 } });
    const first = tracker.next("t", "new", { x: 1 });
    tracker.undo("t", "new", first);
    expect(tracker.next("t", "new", { y: 1 }).data).toEqual({ key: "new", full: { y: 1 } });
  });

  it("what it sends, merged from any full state on, equals the state it keeps", () => {
    const patch = fc.dictionary(
      fc.constantFrom("a", "b", "c"),
      fc.oneof(
        fc.integer(),
        fc.constant(null),
        fc.dictionary(fc.constantFrom("x", "y"), fc.integer()),
      ),
      { maxKeys: 3 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("k1", "k2"), patch, fc.nat(600)), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        (steps, fullEvery) => {
          const clock = createFakeClock();
          const tracker = createDeltaTracker({ ...options, fullEvery }, clock);
          const rebuilt = new Map<string, unknown>();
          for (const [key, changes, elapsed] of steps) {
            clock.advance(elapsed);
            const { data, latest } = tracker.next("t", key, changes);
            if ("full" in data) rebuilt.set(key, data.full);
            else rebuilt.set(key, applyMergePatch(rebuilt.get(key), data.changes));
            expect(rebuilt.get(key)).toEqual((latest as { full: unknown }).full);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
