import { afterEach, describe, expect, it } from "vitest";
import {
  connectClosedAfterEach,
  createDisposer,
  ofType,
  serverClosedAfterEach,
  type TestClient,
  within,
} from "./helpers.js";

// PROTOCOL.md, "Start positions": `rewind: N` replays up to the last N retained messages,
// then goes live; `since` wins; a bad `rewind` is refused and the connection is kept.

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);

const client = (s: { readonly port: number }, id: string) =>
  connectClosedAfterEach(disposer, s, id);

const offsetsOf = (c: TestClient, topic = "t") =>
  c.received.filter((m) => m.type === "message" && m.topic === topic).map((m) => m.offset);

describe("subscribe with rewind", () => {
  it("announces rewind in hello.features", async () => {
    const s = await server();
    const c = await client(s, "features");
    expect(c.hello.features).toContain("rewind");
  });

  it("rewind 1 delivers the latest value before subscribed, then live messages", async () => {
    const s = await server();
    for (let i = 1; i <= 5; i += 1) await s.publish("t", { n: i });
    const c = await client(s, "latest");
    c.send({ type: "subscribe", id: "s", topic: "t", rewind: 1 });
    const subscribed = await c.next(ofType("subscribed"));
    expect(subscribed).toMatchObject({ offset: 5, recovered: true, replayed: 1 });
    const replayed = c.received.filter((m) => m.type === "message");
    expect(replayed.map((m) => m.data)).toEqual([{ n: 5 }]);
    const firstReplayed = c.received.findIndex((m) => m.type === "message");
    expect(firstReplayed).toBeLessThan(c.received.indexOf(subscribed));
    await s.publish("t", { n: 6 });
    await c.next(ofType("message", (m) => m.offset === 6));
    expect(offsetsOf(c)).toEqual([5, 6]);
  });

  it("rewind N replays the last N retained in order, and fewer when fewer are retained", async () => {
    const s = await server({ history: { maxMessages: 4 } });
    for (let i = 1; i <= 10; i += 1) await s.publish("t", i);
    const three = await client(s, "three");
    three.send({ type: "subscribe", id: "s", topic: "t", rewind: 3 });
    expect(await three.next(ofType("subscribed"))).toMatchObject({ replayed: 3, offset: 10 });
    expect(offsetsOf(three)).toEqual([8, 9, 10]);

    const all = await client(s, "all");
    all.send({ type: "subscribe", id: "s", topic: "t", rewind: 4 });
    expect(await all.next(ofType("subscribed"))).toMatchObject({
      replayed: 4,
      recovered: true,
    });
    expect(offsetsOf(all)).toEqual([7, 8, 9, 10]);
  });

  it("rewind on a topic that never had a message replays nothing and goes live at 0", async () => {
    const s = await server();
    const c = await client(s, "empty");
    c.send({ type: "subscribe", id: "s", topic: "t", rewind: 10 });
    expect(await c.next(ofType("subscribed"))).toMatchObject({
      offset: 0,
      replayed: 0,
      recovered: true,
    });
    await s.publish("t", "first");
    await c.next(ofType("message", (m) => m.offset === 1));
    expect(offsetsOf(c)).toEqual([1]);
  });

  it("since wins over rewind", async () => {
    const s = await server();
    for (let i = 1; i <= 6; i += 1) await s.publish("t", i);
    const { epoch } = await s.broker.head("t");
    const c = await client(s, "both");
    c.send({ type: "subscribe", id: "s", topic: "t", since: { offset: 2, epoch }, rewind: 1 });
    expect(await c.next(ofType("subscribed"))).toMatchObject({ replayed: 4, recovered: true });
    expect(offsetsOf(c)).toEqual([3, 4, 5, 6]);
  });

  it("delivers every offset once, without holes, when publishes race the rewind", async () => {
    const s = await server({ authorize: () => true });
    for (let i = 1; i <= 50; i += 1) await s.publish("t", i);
    const publisher = await client(s, "publisher");
    const c = await client(s, "race");
    // Sent together, so the publishes land while the server reads the head and the history.
    c.send({ type: "subscribe", id: "s", topic: "t", rewind: 20 });
    for (let i = 1; i <= 20; i += 1) {
      publisher.send({ type: "publish", id: `p${i}`, topic: "t", data: 50 + i });
    }
    await within(c.next(ofType("message", (m) => m.offset === 70)), "offset 70");
    const offsets = offsetsOf(c) as number[];
    const first = offsets[0] ?? 0;
    expect(first).toBeGreaterThanOrEqual(31);
    expect(first).toBeLessThanOrEqual(51);
    expect(offsets).toEqual(Array.from({ length: 71 - first }, (_, i) => first + i));
  });

  describe("refuses a bad rewind and keeps the connection", () => {
    it.each([0, -3, 2.5, "5"])("rewind %j is answered invalid_message", async (rewind) => {
      const s = await server();
      const c = await client(s, "bad");
      c.send({ type: "subscribe", id: "s", topic: "t", rewind });
      const answer = await c.next(ofType("response"));
      expect(answer).toMatchObject({ id: "s", ok: false, error: { code: "invalid_message" } });
      expect(JSON.stringify(answer.error)).toContain("rewind");
      c.send({ type: "subscribe", id: "ok", topic: "t", rewind: 1 });
      expect(await c.next(ofType("subscribed"))).toMatchObject({ id: "ok" });
    });

    it("rewind past the history limit says the limit", async () => {
      const s = await server({ history: { maxMessages: 50 } });
      const c = await client(s, "huge");
      c.send({ type: "subscribe", id: "s", topic: "t", rewind: 1e12 });
      const answer = await c.next(ofType("response"));
      expect(answer).toMatchObject({ id: "s", ok: false, error: { code: "invalid_message" } });
      expect((answer.error as { message: string }).message).toBe(
        '"subscribe" expects "rewind" to be at most 50 (the messages this server retains), got 1000000000000',
      );
      c.send({ type: "subscribe", id: "ok", topic: "t", rewind: 50 });
      expect(await c.next(ofType("subscribed"))).toMatchObject({ id: "ok" });
    });

    it("limits.maxRewind overrides the history limit", async () => {
      const s = await server({ limits: { maxRewind: 2 } });
      const c = await client(s, "capped");
      c.send({ type: "subscribe", id: "s", topic: "t", rewind: 3 });
      expect(await c.next(ofType("response"))).toMatchObject({
        ok: false,
        error: { code: "invalid_message" },
      });
    });
  });
});
