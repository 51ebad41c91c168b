import { describe, expect, it } from "vitest";
import type { LogEntry } from "../src/index.js";
import { createMemoryBroker } from "../src/index.js";
import { createFakeClock } from "./helpers.js";

describe("memory broker", () => {
  it("assigns offsets from 1, rising by one per append, under one epoch", async () => {
    const broker = createMemoryBroker({ epoch: "e1" });
    const a = await broker.append("t", "a");
    const b = await broker.append("t", "b");
    const other = await broker.append("u", "x");
    expect([a.offset, b.offset, other.offset]).toEqual([1, 2, 1]);
    expect(a.epoch).toBe("e1");
    expect(await broker.head("t")).toEqual({ offset: 2, epoch: "e1" });
    expect(await broker.head("empty")).toEqual({ offset: 0, epoch: "e1" });
  });

  it("gives each new broker a fresh epoch, so a restart is visible", async () => {
    const first = createMemoryBroker();
    const second = createMemoryBroker();
    expect((await first.head("t")).epoch).not.toBe((await second.head("t")).epoch);
  });

  it("keeps at most maxMessages per topic", async () => {
    const broker = createMemoryBroker({ maxMessages: 3, epoch: "e" });
    for (let i = 1; i <= 5; i += 1) await broker.append("t", i);
    const read = await broker.readSince("t", 0, "e");
    expect(read.entries.map((e) => e.offset)).toEqual([3, 4, 5]);
    expect(read.complete).toBe(false);
    expect((await broker.readSince("t", 2, "e")).complete).toBe(true);
    expect((await broker.readSince("t", 1, "e")).complete).toBe(false);
  });

  it("forgets messages older than maxAgeMs", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ maxAgeMs: 1000, epoch: "e", clock });
    await broker.append("t", "old");
    clock.advance(600);
    await broker.append("t", "new");
    clock.advance(600);
    const read = await broker.readSince("t", 0, "e");
    expect(read.entries.map((e) => e.data)).toEqual(["new"]);
    expect(read.complete).toBe(false);
    expect(read.head).toBe(2);
  });

  it("forgets topics that hold nothing and feed nobody, and brings them back under a new epoch", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ maxAgeMs: 1000, epoch: "e", clock });
    await broker.append("session/1", "a");
    await broker.append("session/1", "b");
    const stop = await broker.subscribe("kept", () => {});
    clock.advance(1001);
    // The next append sweeps: session/1's history expired and nobody listens to it.
    await broker.append("other", "x");
    expect(await broker.head("session/1")).toEqual({ offset: 0, epoch: "e~1" });
    expect(await broker.head("kept")).toEqual({ offset: 0, epoch: "e" });
    const again = await broker.append("session/1", "c");
    expect(again).toMatchObject({ offset: 1, epoch: "e~1" });
    // A client resuming from the old incarnation learns that history was lost.
    const read = await broker.readSince("session/1", 2, "e");
    expect(read).toMatchObject({ epoch: "e~1", complete: false, head: 1 });
    await stop();
  });

  it("refuses a topic past maxTopics, keeps serving existing ones, and makes room once one expires", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ maxTopics: 2, maxAgeMs: 1000, epoch: "e", clock });
    await broker.append("a", 1);
    const stop = await broker.subscribe("b", () => {});
    await expect(broker.append("c", 1)).rejects.toMatchObject({ code: "LIFELINE_TOPIC_LIMIT" });
    await expect(broker.subscribe("c", () => {})).rejects.toMatchObject({
      code: "LIFELINE_TOPIC_LIMIT",
    });
    expect(await broker.append("a", 2)).toMatchObject({ offset: 2 });
    // a's history expires; the next refusal would sweep, so c now fits.
    clock.advance(1001);
    expect(await broker.append("c", 1)).toMatchObject({ offset: 1 });
    await expect(broker.append("d", 1)).rejects.toMatchObject({ code: "LIFELINE_TOPIC_LIMIT" });
    await stop();
  });

  it("reports an epoch mismatch as incomplete", async () => {
    const broker = createMemoryBroker({ epoch: "now" });
    await broker.append("t", 1);
    const read = await broker.readSince("t", 0, "before");
    expect(read.complete).toBe(false);
    expect(read.epoch).toBe("now");
  });

  it("reads exactly the entries after the asked offset", async () => {
    const broker = createMemoryBroker({ epoch: "e" });
    for (let i = 1; i <= 10; i += 1) await broker.append("t", i);
    const read = await broker.readSince("t", 7, "e");
    expect(read.entries.map((e) => e.offset)).toEqual([8, 9, 10]);
    expect(read.complete).toBe(true);
    const caughtUp = await broker.readSince("t", 10, "e");
    expect(caughtUp.entries).toEqual([]);
    expect(caughtUp.complete).toBe(true);
    const ahead = await broker.readSince("t", 11, "e");
    expect(ahead.complete).toBe(false);
  });

  it("appends a dedupe key once within the window and again after it", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ dedupeWindowMs: 1000, clock });
    const first = await broker.append("t", "x", { dedupeKey: "c:1" });
    const again = await broker.append("t", "x", { dedupeKey: "c:1" });
    expect(again).toEqual({ ...first, duplicate: true });
    clock.advance(1001);
    const later = await broker.append("t", "x", { dedupeKey: "c:1" });
    expect(later.duplicate).toBe(false);
    expect(later.offset).toBe(2);
  });

  it("bounds the number of remembered dedupe keys", async () => {
    const broker = createMemoryBroker({ maxDedupeKeys: 2 });
    await broker.append("t", 1, { dedupeKey: "a" });
    await broker.append("t", 2, { dedupeKey: "b" });
    await broker.append("t", 3, { dedupeKey: "c" });
    await broker.append("t", 4, { dedupeKey: "d" });
    expect((await broker.append("t", 1, { dedupeKey: "a" })).duplicate).toBe(false);
  });

  it("delivers to every listener in order even when one throws", async () => {
    const broker = createMemoryBroker();
    const seen: LogEntry[] = [];
    await broker.subscribe("t", () => {
      throw new Error("broken listener");
    });
    const stop = await broker.subscribe("t", (entry) => seen.push(entry));
    await broker.append("t", "a");
    await broker.append("t", "b");
    await stop();
    await broker.append("t", "c");
    expect(seen.map((e) => e.data)).toEqual(["a", "b"]);
  });

  it("is unhealthy and refuses work once closed", async () => {
    const broker = createMemoryBroker();
    expect(broker.health().healthy).toBe(true);
    await broker.close();
    expect(broker.health()).toEqual({ healthy: false, detail: "memory broker closed" });
    await expect(broker.append("t", 1)).rejects.toThrow(/closed/);
  });
});

describe("memory broker latest-per-key table", () => {
  it("keeps the latest entry of each key, pages by offset and count, and bounds the keys", async () => {
    const broker = createMemoryBroker({ maxConflatedKeys: 3 });
    const put = (key: string, n: number) =>
      broker.append("t", { key, n }, { conflate: { key, value: { key, full: n } } });
    await put("a", 1);
    await put("b", 1);
    await put("a", 2);
    await put("c", 1);
    const all = await broker.latest?.("t");
    expect(all?.head).toBe(4);
    expect(all?.entries.map((e) => [e.offset, e.data])).toEqual([
      [2, { key: "b", full: 1 }],
      [3, { key: "a", full: 2 }],
      [4, { key: "c", full: 1 }],
    ]);
    expect((await broker.latest?.("t", { after: 2 }))?.entries.map((e) => e.offset)).toEqual([
      3, 4,
    ]);
    expect((await broker.latest?.("t", { limit: 1 }))?.entries.map((e) => e.offset)).toEqual([4]);
    await put("d", 1);
    const bounded = await broker.latest?.("t");
    expect(bounded?.entries.map((e) => (e.data as { key: string }).key)).toEqual(["a", "c", "d"]);
    // The log itself is untouched: every append is retained.
    expect((await broker.readSince("t", 0, undefined)).entries).toHaveLength(5);
  });

  it("keeps a conflated topic's table after its history expired", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ clock, maxAgeMs: 1000 });
    await broker.append("t", "v", { conflate: { key: "" } });
    clock.advance(120_000);
    await broker.append("other", 1);
    expect((await broker.readSince("t", 0, undefined)).entries).toEqual([]);
    expect((await broker.latest?.("t"))?.entries.map((e) => e.data)).toEqual(["v"]);
  });
});
