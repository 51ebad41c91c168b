import { describe, expect, it } from "vitest";
import type { OutboxEntry } from "../../src/delivery/outbox.js";
import { PublishLanes } from "../../src/delivery/publish-lanes.js";

const entry = (id: string): OutboxEntry => ({
  id,
  kind: "publish",
  message: { type: "publish", id, topic: "t", data: null },
});

/** Adds publishes `ids` to `topic` and marks them sent, as the connection would. */
function sent(lanes: PublishLanes, topic: string, ...ids: string[]) {
  return ids.map((id) => {
    const publish = lanes.add(entry(id), topic);
    lanes.setStage(publish, "wire");
    publish.inFlight = 1;
    return publish;
  });
}

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("expected a publish");
  return value;
}

const stages = (lanes: PublishLanes, ...ids: string[]) => ids.map((id) => lanes.get(id)?.stage);

describe("PublishLanes", () => {
  it("holds a refused publish and every later one of its topic, and withdraws the queued", () => {
    const lanes = new PublishLanes();
    const a = must(sent(lanes, "t", "a", "b")[0]);
    lanes.add(entry("c"), "t");
    const { withdraw, schedule } = lanes.hold(a);
    expect(stages(lanes, "a", "b", "c")).toEqual(["held", "held", "blocked"]);
    expect(withdraw.map((p) => p.entry.id)).toEqual(["c"]);
    expect(schedule).toBe(true);
    expect(lanes.waitingCount).toBe(3);
  });

  it("blocks a publish made while its topic is held, and not one of another topic", () => {
    const lanes = new PublishLanes();
    const a = must(sent(lanes, "t", "a")[0]);
    lanes.hold(a);
    expect(lanes.add(entry("b"), "t").stage).toBe("blocked");
    expect(lanes.add(entry("x"), "u").stage).toBe("queued");
  });

  it("schedules one release per hold, and releases in call order", () => {
    const lanes = new PublishLanes();
    const a = must(sent(lanes, "t", "a")[0]);
    const b = must(sent(lanes, "t", "b")[0]);
    expect(lanes.hold(a).schedule).toBe(true);
    expect(lanes.hold(b).schedule).toBe(false);
    lanes.add(entry("c"), "t");
    expect(lanes.release("t").map((p) => p.entry.id)).toEqual(["a", "b", "c"]);
    expect(stages(lanes, "a", "b", "c")).toEqual(["queued", "queued", "queued"]);
    expect(lanes.waitingCount).toBe(0);
  });

  it("hands back every unanswered publish in call order when the connection drops", () => {
    const lanes = new PublishLanes();
    const a = must(sent(lanes, "t", "a")[0]);
    sent(lanes, "u", "x");
    lanes.hold(a);
    lanes.add(entry("b"), "t");
    lanes.add(entry("q"), "v");
    const resend = lanes.takeForResend().map((p) => p.entry.id);
    // "q" is still in the outbox, which keeps it; the others go in front of it.
    expect(resend).toEqual(["a", "x", "b"]);
    expect(lanes.get("a")?.inFlight).toBe(0);
  });

  it("lets go, on a drop, of a publish nobody waits for any more", () => {
    const lanes = new PublishLanes();
    const a = must(sent(lanes, "t", "a", "b")[0]);
    a.awaited = false;
    expect(lanes.takeForResend().map((p) => p.entry.id)).toEqual(["b"]);
    expect(lanes.get("a")).toBeUndefined();
  });

  it("forgets a topic once its last publish is answered", () => {
    const lanes = new PublishLanes();
    const a = must(sent(lanes, "t", "a")[0]);
    lanes.remove(a);
    expect(lanes.has("t")).toBe(false);
  });
});
