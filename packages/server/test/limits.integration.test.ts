import { afterEach, describe, expect, it } from "vitest";
import {
  connect,
  connectWebSocket,
  createDisposer,
  createFakeClock,
  ofType,
  onJsonWebSocket,
  onWebSocket,
  serverClosedAfterEach,
  within,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("bad input", () => {
  it("answers invalid messages and keeps the connection open", async () => {
    const s = await server();
    const c = await connect(s, "a");
    disposer.add(() => c.close());
    c.send({ type: "teleport", id: "t1" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "t1",
      ok: false,
      error: { code: "unknown_type" },
    });
    c.send({ type: "subscribe", id: "s1", topic: 5 });
    expect(await c.next(ofType("response"))).toEqual({
      type: "response",
      id: "s1",
      ok: false,
      error: {
        code: "invalid_message",
        message: '"subscribe" expects "topic" to be a string, got integer 5',
      },
    });
    c.send({ type: "ping" });
    expect(await c.next(ofType("pong"))).toEqual({ type: "pong" });
    expect(s.stats().errors).toMatchObject({ invalid_message: 1, unknown_type: 1 });
  });

  // Frames that are no message at all: the MessagePack and SSE wires have their own
  // (msgpack.integration.test.ts, sse.integration.test.ts).
  onJsonWebSocket(() => {
    it("answers frames that do not parse and binary frames, and keeps the connection open", async () => {
      const s = await server();
      const c = await connectWebSocket(s, "a");
      disposer.add(() => c.close());
      c.send("not json");
      expect(await c.next(ofType("error"))).toMatchObject({
        type: "error",
        code: "invalid_message",
        message: expect.stringMatching(/does not parse as JSON/),
      });
      c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      expect(await c.next(ofType("error"))).toMatchObject({ code: "invalid_message" });
      c.send({ type: "ping" });
      expect(await c.next(ofType("pong"))).toEqual({ type: "pong" });
      expect(s.stats().errors).toMatchObject({ invalid_message: 2 });
    });
  });

  it("closes with 1008 after repeated invalid messages", async () => {
    const s = await server({ limits: { abuse: { maxViolations: 3, windowMs: 10_000 } } });
    const c = await connect(s, "abuser");
    for (let i = 0; i < 10; i += 1) c.send({ type: "teleport" });
    expect(await within(c.closed, "1008")).toEqual({
      code: 1008,
      reason: "too many invalid or excess messages",
    });
    expect(c.received.filter((m) => m.type === "error")).toHaveLength(3);
  });
});

describe("rate limit", () => {
  it("answers messages beyond the bucket with rate_limited", async () => {
    const clock = createFakeClock();
    const s = await server({ clock, limits: { rate: { perSecond: 1, burst: 3 } } });
    const c = await connect(s, "eager");
    disposer.add(() => c.close());
    for (let i = 0; i < 3; i += 1) c.send({ type: "ping" });
    c.send({ type: "request", id: "r4", method: "x" });
    c.send({ type: "ping" });
    expect(await c.next(ofType("response"))).toEqual({
      type: "response",
      id: "r4",
      ok: false,
      error: { code: "rate_limited", message: "rate limit exceeded; slow down" },
    });
    expect(await c.next(ofType("error"))).toMatchObject({ code: "rate_limited" });
    expect(c.received.filter((m) => m.type === "pong")).toHaveLength(3);
    clock.advance(1000);
    c.send({ type: "ping" });
    await c.next(ofType("pong", () => c.received.filter((m) => m.type === "pong").length === 4));
    expect(c.isOpen()).toBe(true);
  });

  it("defaults to 100 messages/s with a burst of 200", async () => {
    const clock = createFakeClock();
    const s = await server({ clock });
    const c = await connect(s, "burst");
    disposer.add(() => c.close());
    for (let i = 0; i < 201; i += 1) c.send({ type: "ping" });
    await c.next(ofType("error"), "rate_limited");
    expect(c.received.filter((m) => m.type === "pong").length).toBe(200);
  });
});

// A message past maxPayload closes a WebSocket (1009); a post past it is answered 413 and
// the stream stays (sse.integration.test.ts).
onWebSocket(() => {
  describe("payload limit", () => {
    it("closes an oversized message with 1009 and keeps serving the others", async () => {
      const s = await server({ limits: { maxPayload: 1024 } });
      const big = await connect(s, "big");
      const other = await connect(s, "other");
      disposer.add(() => other.close());
      other.send({ type: "subscribe", id: "s", topic: "t" });
      await other.next(ofType("subscribed"));
      const gone = new Promise<{ code: number }>((resolve) =>
        s.on("disconnect", (_connection, close) => resolve(close)),
      );
      big.send({ type: "publish", id: "p", topic: "t", data: "x".repeat(2000) });
      expect((await within(big.closed, "1009")).code).toBe(1009);
      expect((await within(gone, "server-side close")).code).toBe(1009);
      await s.publish("t", "still here");
      expect(await other.next(ofType("message"))).toMatchObject({ data: "still here" });
      expect(s.stats().closes["1009"]).toBe(1);
    });

    it("defaults to 1 MiB", async () => {
      const s = await server();
      const c = await connect(s, "edge");
      c.send({ type: "publish", id: "p", topic: "t", data: "x".repeat(1024 * 1024) });
      expect((await within(c.closed, "1009")).code).toBe(1009);
    });
  });
});

describe("backpressure", () => {
  it("closes a slow consumer with 1013 while others keep receiving, and it resumes from history", async () => {
    const clock = createFakeClock();
    const s = await server({
      clock,
      heartbeat: { intervalMs: 0 },
      limits: { highWaterMark: 256 * 1024 },
      history: { maxMessages: 5000 },
    });
    const slow = await connect(s, "slow");
    const fast = await connect(s, "fast");
    disposer.add(() => fast.close());
    disposer.add(() => slow.terminate());
    for (const c of [slow, fast]) {
      c.send({ type: "subscribe", id: "s", topic: "firehose" });
      await c.next(ofType("subscribed"));
    }
    slow.pause();
    const payload = "y".repeat(16 * 1024);
    let published = 0;
    for (let i = 0; i < 4000 && s.stats().slowConsumers === 0; i += 1) {
      await s.publish("firehose", { i, payload });
      published += 1;
      await turn();
    }
    expect(s.stats().slowConsumers).toBe(1);
    // Memory stays bounded: far less than what was published went into the slow buffer.
    expect(published * payload.length).toBeGreaterThan(256 * 1024);
    slow.resume();
    expect((await within(slow.closed, "1013", 10_000)).code).toBe(1013);
    await fast.next(
      ofType("message", (m) => m.offset === published),
      "last message",
    );
    const offsets = fast.received.filter((m) => m.type === "message").map((m) => m.offset);
    expect(offsets).toEqual(Array.from({ length: published }, (_, i) => i + 1));

    const delivered = slow.received.filter((m) => m.type === "message");
    const last = delivered.at(-1) as { offset: number; epoch: string };
    const back = await connect(s, "slow");
    disposer.add(() => back.close());
    back.send({
      type: "subscribe",
      id: "s2",
      topic: "firehose",
      since: { offset: last.offset, epoch: last.epoch },
    });
    expect(await back.next(ofType("subscribed"))).toMatchObject({
      recovered: true,
      replayed: published - last.offset,
    });
  });
});

// An extension of the WebSocket wire.
onJsonWebSocket(() => {
  describe("permessage-deflate", () => {
    it("is off by default", async () => {
      const s = await server();
      const c = await connectWebSocket(s, "a", "", { perMessageDeflate: true });
      disposer.add(() => c.close());
      expect(c.ws.extensions).toBe("");
    });

    it("can be turned on with a threshold", async () => {
      const s = await server({ perMessageDeflate: { threshold: 16 } });
      const c = await connectWebSocket(s, "a", "", { perMessageDeflate: true });
      disposer.add(() => c.close());
      expect(c.ws.extensions).toContain("permessage-deflate");
      c.send({ type: "subscribe", id: "s", topic: "t" });
      await c.next(ofType("subscribed"));
      await s.publish("t", "z".repeat(5000));
      expect(await c.next(ofType("message"))).toMatchObject({ data: "z".repeat(5000) });
    });
  });
});
