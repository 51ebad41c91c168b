import { afterEach, describe, expect, it } from "vitest";
import { MethodError } from "../src/index.js";
import { connect, createDisposer, ofType, startServer } from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

/** Client publishes are refused unless allowed (PROTOCOL.md, "Who may publish and subscribe"). */
const allowAll = (): boolean => true;

async function server(options: Parameters<typeof startServer>[0] = {}) {
  const s = await startServer(options);
  disposer.add(() => s.close({ drainTimeoutMs: 500, batchIntervalMs: 0 }));
  return s;
}

describe("core protocol", () => {
  it("sends hello with the documented fields", async () => {
    const s = await server();
    const client = await connect(s, "alpha");
    disposer.add(() => client.close());
    expect(client.hello).toMatchObject({
      type: "hello",
      accepted_version: 1,
      client_id: "alpha",
      heartbeat_interval_ms: 25_000,
    });
    expect(typeof client.hello.connection_id).toBe("string");
    expect(typeof client.hello.request_id).toBe("string");
    expect(Number.isNaN(Date.parse(String(client.hello.server_time)))).toBe(false);
    expect(client.hello.features).toContain("resume");
  });

  it("delivers server.publish to subscribers and acknowledges client publishes", async () => {
    const s = await server({ authorize: allowAll });
    const a = await connect(s, "a");
    const b = await connect(s, "b");
    disposer.add(() => a.close());
    disposer.add(() => b.close());
    a.send({ type: "subscribe", id: "s1", topic: "news" });
    const subscribed = await a.next(ofType("subscribed"));
    expect(subscribed).toMatchObject({
      id: "s1",
      topic: "news",
      offset: 0,
      recovered: true,
      replayed: 0,
    });
    await s.publish("news", { n: 1 });
    expect(await a.next(ofType("message"))).toMatchObject({
      topic: "news",
      offset: 1,
      data: { n: 1 },
    });
    b.send({ type: "publish", id: "p1", topic: "news", data: { n: 2 } });
    const ack = await b.next(ofType("response"));
    expect(ack).toEqual({
      type: "response",
      id: "p1",
      ok: true,
      result: { topic: "news", offset: 2, epoch: subscribed.epoch },
    });
    expect(await a.next(ofType("message"))).toMatchObject({ offset: 2, data: { n: 2 } });
  });

  it("acknowledges a retried publish again without appending it twice", async () => {
    const s = await server({ authorize: allowAll });
    const a = await connect(s, "a");
    disposer.add(() => a.close());
    a.send({ type: "publish", id: "p1", topic: "t", data: 1 });
    const first = await a.next(ofType("response"));
    a.send({ type: "publish", id: "p1", topic: "t", data: 1 });
    const second = await a.next(ofType("response"));
    expect(second).toEqual(first);
    const head = await s.broker.head("t");
    expect(head.offset).toBe(1);
  });

  it("replays exactly the missed offsets on subscribe with since", async () => {
    const s = await server();
    for (let i = 1; i <= 5; i += 1) await s.publish("log", i);
    const head = await s.broker.head("log");
    const a = await connect(s, "a");
    disposer.add(() => a.close());
    a.send({ type: "subscribe", id: "s1", topic: "log", since: { offset: 2, epoch: head.epoch } });
    const subscribed = await a.next(ofType("subscribed"));
    expect(subscribed).toMatchObject({ recovered: true, replayed: 3, offset: 5 });
    const replayed = a.received.filter((m) => m.type === "message").map((m) => m.offset);
    expect(replayed).toEqual([3, 4, 5]);
    // Replay precedes the answer, live follows it.
    expect(a.received.findIndex((m) => m.type === "subscribed")).toBeGreaterThan(
      a.received.findIndex((m) => m.offset === 5),
    );
    await s.publish("log", 6);
    expect(await a.next(ofType("message", (m) => m.offset === 6))).toMatchObject({ data: 6 });
  });

  it("answers requests through server.method, with typed errors", async () => {
    const s = await server();
    s.method("add", (params) => {
      const { a, b } = params as { a: number; b: number };
      return a + b;
    });
    s.method("deny", () => {
      throw new MethodError("forbidden", "not today");
    });
    const c = await connect(s, "a");
    disposer.add(() => c.close());
    c.send({ type: "request", id: "r1", method: "add", params: { a: 2, b: 3 } });
    expect(await c.next(ofType("response"))).toEqual({
      type: "response",
      id: "r1",
      ok: true,
      result: 5,
    });
    c.send({ type: "request", id: "r2", method: "deny" });
    expect(await c.next(ofType("response"))).toEqual({
      type: "response",
      id: "r2",
      ok: false,
      error: { code: "forbidden", message: "not today" },
    });
    c.send({ type: "request", id: "r3", method: "nope" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "r3",
      ok: false,
      error: { code: "unknown_method" },
    });
  });

  it("answers app ping with pong and unsubscribes", async () => {
    const s = await server();
    const c = await connect(s, "a");
    disposer.add(() => c.close());
    c.send({ type: "ping" });
    expect(await c.next(ofType("pong"))).toEqual({ type: "pong" });
    c.send({ type: "subscribe", id: "s1", topic: "x" });
    await c.next(ofType("subscribed"));
    c.send({ type: "unsubscribe", id: "u1", topic: "x" });
    expect(await c.next(ofType("unsubscribed"))).toEqual({
      type: "unsubscribed",
      id: "u1",
      topic: "x",
    });
    expect(s.stats().topics.subscriptions).toBe(0);
  });
});
