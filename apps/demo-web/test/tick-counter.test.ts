import { describe, expect, it } from "vitest";
import { createTickCounter } from "../src/tick-counter.js";

describe("tick counter", () => {
  it("counts nothing wrong for a run rising by one", () => {
    const counter = createTickCounter();
    for (let n = 5; n <= 20; n += 1) counter.observe(n);
    expect(counter.counts()).toEqual({ received: 16, gaps: 0, duplicates: 0, resets: 0, last: 20 });
  });

  it("counts each missing n as a gap and each repeat as a duplicate", () => {
    const counter = createTickCounter();
    for (const n of [1, 2, 5, 5, 3, 6]) counter.observe(n);
    expect(counter.counts()).toMatchObject({ gaps: 2, duplicates: 2, last: 6 });
  });

  it("starts a new run after a reset (history lost), without counting the jump", () => {
    const counter = createTickCounter();
    counter.observe(10);
    counter.reset();
    counter.observe(1);
    counter.observe(2);
    expect(counter.counts()).toMatchObject({ gaps: 0, duplicates: 0, resets: 1, last: 2 });
  });

  it("continues counts an earlier page saved, so a reload that resumed counts no gap", () => {
    const before = createTickCounter();
    for (let n = 1; n <= 7; n += 1) before.observe(n);
    const after = createTickCounter(before.counts());
    after.observe(8);
    expect(after.counts()).toEqual({ received: 8, gaps: 0, duplicates: 0, resets: 0, last: 8 });
    const restartedAtHead = createTickCounter(before.counts());
    restartedAtHead.observe(12);
    expect(restartedAtHead.counts()).toMatchObject({ gaps: 4 });
  });
});
