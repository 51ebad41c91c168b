import { describe, expect, it } from "vitest";
import { History } from "./support/history.js";

// The checker is the judge of every other chaos test, so it is tested against histories
// with known faults first.

function run(build: (history: History) => void) {
  const history = new History();
  build(history);
  return history.check();
}

const e1 = "epoch-1";
const e2 = "epoch-2";

describe("history checker", () => {
  it("passes a clean history", () => {
    const report = run((h) => {
      h.subscribed("c1", "t", { offset: 0, epoch: e1 });
      for (let i = 1; i <= 3; i += 1) {
        const p = h.publish("t", "pub");
        p.acked({ offset: i, epoch: e1 });
        h.deliver("c1", "t", p.data, { offset: i, epoch: e1 });
      }
    });
    expect(report).toMatchObject({ checked: 3, lost: 0, duplicated: 0, outOfOrder: 0 });
  });

  it("reports an acknowledged publish a subscriber never saw as lost", () => {
    const report = run((h) => {
      h.subscribed("c1", "t", { offset: 0, epoch: e1 });
      h.publish("t", "pub").acked({ offset: 1, epoch: e1 });
      const second = h.publish("t", "pub");
      second.acked({ offset: 2, epoch: e1 });
      h.deliver("c1", "t", second.data, { offset: 2, epoch: e1 });
    });
    expect(report.lost).toBe(1);
    expect(report.examples[0]?.kind).toBe("lost");
  });

  it("counts a loss the client was told about as lost with gap, not lost", () => {
    const report = run((h) => {
      h.subscribed("c1", "t", { offset: 0, epoch: e1 });
      const first = h.publish("t", "pub");
      first.acked({ offset: 1, epoch: e1 });
      h.deliver("c1", "t", first.data, { offset: 1, epoch: e1 });
      h.publish("t", "pub").acked({ offset: 2, epoch: e1 });
      h.gap("c1", {
        topic: "t",
        reason: "epoch_changed",
        since: { offset: 1, epoch: e1 },
        resumedAt: { offset: 0, epoch: e2 },
      });
      const third = h.publish("t", "pub");
      third.acked({ offset: 1, epoch: e2 });
      h.deliver("c1", "t", third.data, { offset: 1, epoch: e2 });
    });
    expect(report).toMatchObject({ lost: 0, lostWithGap: 1, outOfOrder: 0, gapEvents: 1 });
  });

  it("reports duplicates, reordering and a publish appended twice", () => {
    const report = run((h) => {
      h.subscribed("c1", "t", { offset: 0, epoch: e1 });
      const a = h.publish("t", "pub");
      a.acked({ offset: 1, epoch: e1 });
      const b = h.publish("t", "pub");
      b.acked({ offset: 2, epoch: e1 });
      h.deliver("c1", "t", b.data, { offset: 2, epoch: e1 });
      h.deliver("c1", "t", a.data, { offset: 1, epoch: e1 });
      h.deliver("c1", "t", a.data, { offset: 1, epoch: e1 });
      h.deliver("c1", "t", a.data, { offset: 3, epoch: e1 });
    });
    expect(report.duplicated).toBe(1);
    expect(report.outOfOrder).toBe(2);
    expect(report.doubleAppended).toBe(1);
    expect(report.doubleAppendedInEpoch).toBe(1);
  });

  it("tells a publish appended again after an epoch change from one appended twice in an epoch", () => {
    const report = run((h) => {
      h.subscribed("c1", "t", { offset: 0, epoch: e1 });
      const a = h.publish("t", "pub");
      h.deliver("c1", "t", a.data, { offset: 1, epoch: e1 });
      h.gap("c1", {
        topic: "t",
        reason: "epoch_changed",
        since: { offset: 1, epoch: e1 },
        resumedAt: { offset: 0, epoch: e2 },
      });
      a.acked({ offset: 1, epoch: e2 });
      h.deliver("c1", "t", a.data, { offset: 1, epoch: e2 });
    });
    expect(report).toMatchObject({ doubleAppended: 1, doubleAppendedInEpoch: 0, lost: 0 });
  });

  it("reports a publisher whose later publish landed before its earlier one", () => {
    const report = run((h) => {
      h.publish("t", "pub").acked({ offset: 2, epoch: e1 });
      h.publish("t", "pub").acked({ offset: 1, epoch: e1 });
    });
    expect(report.publisherOrder).toBe(1);
  });

  it("holds a subscriber that delivered nothing to every later publish", () => {
    const report = run((h) => {
      h.subscribed("c1", "t", { offset: 5, epoch: e1 });
      h.publish("t", "pub").acked({ offset: 5, epoch: e1 });
      h.publish("t", "pub").acked({ offset: 6, epoch: e1 });
    });
    expect(report).toMatchObject({ checked: 1, lost: 1 });
  });
});
