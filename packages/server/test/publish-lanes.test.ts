import { describe, expect, it } from "vitest";
import { MAX_BLOCKED_LANES, PublishLanes, type RetryableRefusal } from "../src/publish-lanes.js";

const overloaded: RetryableRefusal = { code: "overloaded" };

/** Records what happened to each publish: "appended", "refused" (by its step) or "behind". */
function recorder() {
  const log: string[] = [];
  return {
    log,
    step: (id: string, refusal?: RetryableRefusal) => async () => {
      log.push(refusal ? `${id}:refused` : `${id}:appended`);
      return refusal;
    },
    behind: (id: string) => (barrier: RetryableRefusal) => {
      log.push(`${id}:behind-${barrier.code}`);
    },
  };
}

async function drained(): Promise<void> {
  // Each lane step is a few chained promises; a macrotask runs after all of them.
  await new Promise<void>((resolve) => setImmediate(resolve));
}

describe("PublishLanes", () => {
  it("runs one topic's publishes one after another, in arrival order", async () => {
    const lanes = new PublishLanes();
    const order: string[] = [];
    let releaseFirst: () => void = () => {};
    const firstDone = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    lanes.submit(
      "t",
      "a",
      async () => {
        order.push("a:start");
        await firstDone;
        order.push("a:end");
        return undefined;
      },
      () => {},
    );
    lanes.submit(
      "t",
      "b",
      async () => {
        order.push("b");
        return undefined;
      },
      () => {},
    );
    await drained();
    expect(order).toEqual(["a:start"]);
    releaseFirst();
    await drained();
    expect(order).toEqual(["a:start", "a:end", "b"]);
    expect(lanes.size).toBe(0);
  });

  it("refuses every later publish of the topic until the refused one is sent again", async () => {
    const lanes = new PublishLanes();
    const r = recorder();
    lanes.submit("t", "a", r.step("a", overloaded), r.behind("a"));
    lanes.submit("t", "b", r.step("b"), r.behind("b"));
    lanes.submit("t", "c", r.step("c"), r.behind("c"));
    await drained();
    expect(r.log).toEqual(["a:refused", "b:behind-overloaded", "c:behind-overloaded"]);
    expect(lanes.size).toBe(1);
    lanes.submit("t", "a", r.step("a"), r.behind("a"));
    lanes.submit("t", "b", r.step("b"), r.behind("b"));
    await drained();
    expect(r.log.slice(3)).toEqual(["a:appended", "b:appended"]);
    expect(lanes.size).toBe(0);
  });

  it("blocks again when the resent publish is refused again", async () => {
    const lanes = new PublishLanes();
    const r = recorder();
    lanes.submit("t", "a", r.step("a", overloaded), r.behind("a"));
    lanes.submit("t", "a", r.step("a", { code: "rate_limited" }), r.behind("a"));
    lanes.submit("t", "b", r.step("b"), r.behind("b"));
    await drained();
    expect(r.log).toEqual(["a:refused", "a:refused", "b:behind-rate_limited"]);
  });

  it("does not hold other topics behind a refused publish", async () => {
    const lanes = new PublishLanes();
    const r = recorder();
    lanes.submit("t", "a", r.step("a", overloaded), r.behind("a"));
    lanes.submit("u", "b", r.step("b"), r.behind("b"));
    await drained();
    expect(r.log).toEqual(["a:refused", "b:appended"]);
  });

  it("keeps going after a step that throws", async () => {
    const lanes = new PublishLanes();
    const r = recorder();
    lanes.submit("t", "a", () => Promise.reject(new Error("boom")), r.behind("a"));
    lanes.submit("t", "b", r.step("b"), r.behind("b"));
    await drained();
    expect(r.log).toEqual(["b:appended"]);
    expect(lanes.size).toBe(0);
  });

  it(`forgets the oldest blocked lane past ${MAX_BLOCKED_LANES}, so memory stays bounded`, async () => {
    const lanes = new PublishLanes();
    const r = recorder();
    for (let i = 0; i <= MAX_BLOCKED_LANES; i += 1) {
      lanes.submit(`t${i}`, `a${i}`, r.step(`a${i}`, overloaded), () => {});
    }
    await drained();
    expect(lanes.size).toBe(MAX_BLOCKED_LANES);
    lanes.submit("t0", "fresh", r.step("fresh"), r.behind("fresh"));
    lanes.submit("t1", "fresh", r.step("fresh1"), r.behind("fresh1"));
    await drained();
    expect(r.log.slice(-2)).toEqual(["fresh:appended", "fresh1:behind-overloaded"]);
  });
});
