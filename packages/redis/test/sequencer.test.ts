import type { LogEntry } from "@lifeline/server";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSequencer } from "../src/sequencer.js";
import { range } from "./helpers.js";

function entry(offset: number, epoch = "e1"): LogEntry {
  return { topic: "t", offset, epoch, data: offset, ts: 0 };
}

const offsets = (entries: readonly LogEntry[]) => entries.map((e) => e.offset);

describe("sequencer", () => {
  it("delivers consecutive offsets at once and drops ones already delivered", () => {
    const seq = createSequencer({ epoch: "e1", offset: 3 });
    expect(offsets(seq.offer(entry(3)))).toEqual([]);
    expect(offsets(seq.offer(entry(4)))).toEqual([4]);
    expect(offsets(seq.offer(entry(5)))).toEqual([5]);
    expect(offsets(seq.offer(entry(5)))).toEqual([]);
    expect(seq.needsFill()).toBe(false);
    expect(seq.position()).toEqual({ epoch: "e1", offset: 5 });
  });

  it("holds entries behind a hole until a fill supplies the missing ones", () => {
    const seq = createSequencer({ epoch: "e1", offset: 0 });
    expect(offsets(seq.offer(entry(1)))).toEqual([1]);
    expect(offsets(seq.offer(entry(4)))).toEqual([]);
    expect(offsets(seq.offer(entry(5)))).toEqual([]);
    expect(seq.needsFill()).toBe(true);
    const outcome = seq.applyFill(
      { epoch: "e1", head: 5, entries: [2, 3, 4, 5].map((o) => entry(o)) },
      1,
    );
    expect(offsets(outcome.deliver)).toEqual([2, 3, 4, 5]);
    expect(outcome.skipped).toBe(0);
    expect(seq.needsFill()).toBe(false);
    expect(seq.held()).toBe(0);
  });

  it("fills a hole with the live entry arriving during the fill delivered once", () => {
    const seq = createSequencer({ epoch: "e1", offset: 0 });
    seq.offer(entry(3));
    // Entry 4 arrives live while the read (which already saw 4) is in flight.
    seq.offer(entry(4));
    const outcome = seq.applyFill(
      { epoch: "e1", head: 4, entries: [1, 2, 3, 4].map((o) => entry(o)) },
      0,
    );
    expect(offsets(outcome.deliver)).toEqual([1, 2, 3, 4]);
    expect(offsets(seq.offer(entry(4)))).toEqual([]);
    expect(offsets(seq.offer(entry(5)))).toEqual([5]);
  });

  it("moves past offsets Redis trimmed before they could be read and counts them", () => {
    const seq = createSequencer({ epoch: "e1", offset: 2 });
    seq.offer(entry(9));
    const outcome = seq.applyFill(
      { epoch: "e1", head: 9, entries: [7, 8, 9].map((o) => entry(o)) },
      2,
    );
    expect(offsets(outcome.deliver)).toEqual([7, 8, 9]);
    expect(outcome.skipped).toBe(4);
    expect(seq.position().offset).toBe(9);
  });

  it("keeps entries above the read head for later and skips nothing when the read is empty", () => {
    const seq = createSequencer({ epoch: "e1", offset: 5 });
    const outcome = seq.applyFill({ epoch: "e1", head: 5, entries: [] }, 5);
    expect(outcome.deliver).toEqual([]);
    expect(outcome.skipped).toBe(0);
    seq.offer(entry(8));
    expect(seq.needsFill()).toBe(true);
  });

  it("switches to the new epoch seen after history was lost and restarts from its first offset", () => {
    const seq = createSequencer({ epoch: "e1", offset: 40 });
    expect(seq.offer(entry(2, "e2"))).toEqual([]);
    expect(seq.needsFill()).toBe(true);
    const first = seq.applyFill({ epoch: "e2", head: 2, entries: [] }, 40);
    expect(first).toEqual({ deliver: [], skipped: 0, epochChanged: true });
    expect(seq.position()).toEqual({ epoch: "e2", offset: 0 });
    const second = seq.applyFill(
      { epoch: "e2", head: 2, entries: [entry(1, "e2"), entry(2, "e2")] },
      0,
    );
    expect(offsets(second.deliver)).toEqual([1, 2]);
    expect(second.epochChanged).toBe(false);
    expect(seq.needsFill()).toBe(false);
    expect(offsets(seq.offer(entry(41)))).toEqual([]);
  });
});

describe("sequencer under arbitrary loss and reordering of fills", () => {
  it("delivers strictly increasing offsets, each once, and everything once a fill is complete", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.array(
          fc.oneof(
            fc.constant("lose" as const),
            fc.constant("live" as const),
            fc.constant("fill" as const),
          ),
          {
            minLength: 1,
            maxLength: 200,
          },
        ),
        (total, steps) => {
          const log = range(1, total).map((o) => entry(o));
          const seq = createSequencer({ epoch: "e1", offset: 0 });
          const delivered: number[] = [];
          let published = 0;
          for (const step of steps) {
            if (step === "fill") {
              const after = seq.position().offset;
              const read = { epoch: "e1", head: published, entries: log.slice(after, published) };
              delivered.push(...offsets(seq.applyFill(read, after).deliver));
            } else if (published < total) {
              const next = log[published];
              published++;
              if (step === "live" && next !== undefined)
                delivered.push(...offsets(seq.offer(next)));
            }
          }
          const after = seq.position().offset;
          delivered.push(
            ...offsets(
              seq.applyFill(
                { epoch: "e1", head: published, entries: log.slice(after, published) },
                after,
              ).deliver,
            ),
          );
          expect(delivered).toEqual(range(1, published));
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});
