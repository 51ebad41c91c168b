import { deferred } from "@lifeline/test-support";
import { describe, expect, it } from "vitest";
import { createAppendBatcher } from "../src/append-batcher.js";

/** A `send` whose batches the test answers one by one. */
function controlledSend() {
  const calls: {
    topic: string;
    items: readonly number[];
    done: ReturnType<typeof deferred<readonly string[]>>;
  }[] = [];
  return {
    calls,
    send(topic: string, items: readonly number[]) {
      const done = deferred<readonly string[]>();
      calls.push({ topic, items, done });
      return done.promise;
    },
  };
}

describe("append batcher", () => {
  it("sends a lone append at once, and the appends made meanwhile together, in call order", async () => {
    const { calls, send } = controlledSend();
    const batcher = createAppendBatcher(send, 100, 1);
    const first = batcher.add("t", 1);
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    const rest = [2, 3, 4].map((n) => batcher.add("t", n));
    expect(calls).toHaveLength(1);
    calls[0]?.done.resolve(["r1"]);
    expect(await first).toBe("r1");
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    calls[1]?.done.resolve(["r2", "r3", "r4"]);
    expect(await Promise.all(rest)).toEqual(["r2", "r3", "r4"]);
  });

  it("sends up to maxInFlight batches of a topic before waiting for a reply", async () => {
    const { calls, send } = controlledSend();
    const batcher = createAppendBatcher(send, 100, 2);
    const all = [1, 2, 3, 4].map((n) => batcher.add("t", n));
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    calls[1]?.done.resolve(["r2"]);
    expect(await all[1]).toBe("r2");
    expect(calls.map((c) => c.items)).toEqual([[1], [2], [3, 4]]);
    calls[0]?.done.resolve(["r1"]);
    calls[2]?.done.resolve(["r3", "r4"]);
    expect(await Promise.all(all)).toEqual(["r1", "r2", "r3", "r4"]);
  });

  it("keeps maxInFlight batches in flight per topic, topics independent", () => {
    const { calls, send } = controlledSend();
    const batcher = createAppendBatcher(send, 100, 1);
    void batcher.add("a", 1);
    void batcher.add("b", 2);
    void batcher.add("a", 3);
    expect(calls.map((c) => [c.topic, c.items])).toEqual([
      ["a", [1]],
      ["b", [2]],
    ]);
  });

  it("splits what waits into batches of at most maxBatch", async () => {
    const { calls, send } = controlledSend();
    const batcher = createAppendBatcher(send, 2, 1);
    const all = [1, 2, 3, 4, 5].map((n) => batcher.add("t", n));
    for (let i = 0; i < 3; i++) {
      const call = calls[i];
      await Promise.resolve();
      call?.done.resolve(call.items.map((n) => `r${n}`));
      await all[[0, 2, 4][i] as number];
    }
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3], [4, 5]]);
    expect(await Promise.all(all)).toEqual(["r1", "r2", "r3", "r4", "r5"]);
  });

  it("rejects every append of a failed batch, and sends the next batch after it", async () => {
    const { calls, send } = controlledSend();
    const batcher = createAppendBatcher(send, 100, 1);
    const first = batcher.add("t", 1);
    const second = [batcher.add("t", 2), batcher.add("t", 3)];
    const failure = new Error("connection lost");
    calls[0]?.done.reject(failure);
    await expect(first).rejects.toBe(failure);
    calls[1]?.done.reject(failure);
    for (const p of second) await expect(p).rejects.toBe(failure);
    const later = batcher.add("t", 4);
    calls[2]?.done.resolve(["r4"]);
    expect(await later).toBe("r4");
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3], [4]]);
  });
});
