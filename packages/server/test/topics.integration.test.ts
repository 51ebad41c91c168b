import { afterEach, describe, expect, it } from "vitest";
import { createMemoryBroker } from "../src/index.js";
import {
  connect,
  createDisposer,
  ofType,
  serverClosedAfterEach,
  type TestClient,
  within,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);

const offsetsOf = (client: TestClient, topic = "t") =>
  client.received.filter((m) => m.type === "message" && m.topic === topic).map((m) => m.offset);

describe("recovery", () => {
  it("replays exactly the offsets missed while disconnected, then continues live", async () => {
    const s = await server();
    const first = await connect(s, "reader");
    first.send({ type: "subscribe", id: "s1", topic: "t" });
    const subscribed = await first.next(ofType("subscribed"));
    for (let i = 1; i <= 3; i += 1) await s.publish("t", i);
    await first.next(ofType("message", (m) => m.offset === 3));
    await first.close();
    for (let i = 4; i <= 8; i += 1) await s.publish("t", i);

    const again = await connect(s, "reader");
    disposer.add(() => again.close());
    again.send({
      type: "subscribe",
      id: "s2",
      topic: "t",
      since: { offset: 3, epoch: subscribed.epoch },
    });
    expect(await again.next(ofType("subscribed"))).toMatchObject({
      offset: 8,
      recovered: true,
      replayed: 5,
    });
    await s.publish("t", 9);
    await again.next(ofType("message", (m) => m.offset === 9));
    expect(offsetsOf(again)).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it("reports recovered:false and replays what is left when the gap is no longer retained", async () => {
    const s = await server({ history: { maxMessages: 3 } });
    for (let i = 1; i <= 10; i += 1) await s.publish("t", i);
    const head = await s.broker.head("t");
    const c = await connect(s, "late");
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "s", topic: "t", since: { offset: 2, epoch: head.epoch } });
    expect(await c.next(ofType("subscribed"))).toMatchObject({
      recovered: false,
      replayed: 3,
      offset: 10,
    });
    expect(offsetsOf(c)).toEqual([8, 9, 10]);
  });

  it("reports recovered:false with no replay when the epoch changed (history lost)", async () => {
    const s = await server();
    for (let i = 1; i <= 3; i += 1) await s.publish("t", i);
    const c = await connect(s, "stale");
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "s", topic: "t", since: { offset: 1, epoch: "an-old-epoch" } });
    const subscribed = await c.next(ofType("subscribed"));
    expect(subscribed).toMatchObject({ recovered: false, replayed: 0, offset: 3 });
    expect(subscribed.epoch).not.toBe("an-old-epoch");
    await s.publish("t", 4);
    await c.next(ofType("message", (m) => m.offset === 4));
    expect(offsetsOf(c)).toEqual([4]);
  });

  it("never delivers an offset twice or out of order when publishes race the replay", async () => {
    const s = await server({ history: { maxMessages: 10_000 } });
    for (let i = 1; i <= 200; i += 1) await s.publish("t", i);
    const head = await s.broker.head("t");
    const c = await connect(s, "racer");
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "s", topic: "t", since: { offset: 50, epoch: head.epoch } });
    const publishing = (async () => {
      for (let i = 201; i <= 400; i += 1) {
        await s.publish("t", i);
        if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await publishing;
    await c.next(
      ofType("message", (m) => m.offset === 400),
      "offset 400",
    );
    expect(offsetsOf(c)).toEqual(Array.from({ length: 350 }, (_, i) => 51 + i));
    expect((await c.next(ofType("subscribed"))).recovered).toBe(true);
  });

  it("answers subscribe without since from the head, with nothing replayed", async () => {
    const s = await server();
    await s.publish("t", "before");
    const c = await connect(s, "fresh");
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "s", topic: "t" });
    expect(await c.next(ofType("subscribed"))).toMatchObject({
      offset: 1,
      replayed: 0,
      recovered: true,
    });
    await s.publish("t", "after");
    expect(await c.next(ofType("message"))).toMatchObject({ offset: 2, data: "after" });
  });
});

describe("broker failures", () => {
  it("answers a subscribe the broker cannot serve with a retryable overloaded, and keeps the connection", async () => {
    const memory = createMemoryBroker();
    let down = true;
    const s = await server({
      broker: {
        ...memory,
        subscribe: (topic, listener) =>
          down ? Promise.reject(new Error("redis unreachable")) : memory.subscribe(topic, listener),
      },
    });
    const c = await connect(s, "during-outage");
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "s1", topic: "t" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "s1",
      ok: false,
      error: { code: "overloaded" },
    });
    down = false;
    c.send({ type: "subscribe", id: "s2", topic: "t" });
    expect(await c.next(ofType("subscribed"))).toMatchObject({ id: "s2", topic: "t" });
  });
});

describe("topic demand", () => {
  it("tells the application when a topic gains its first and loses its last subscriber", async () => {
    const s = await server();
    const events: string[] = [];
    s.on("topicActive", (topic) => events.push(`active:${topic}`));
    s.on("topicIdle", (topic) => events.push(`idle:${topic}`));
    const a = await connect(s, "a");
    const b = await connect(s, "b");
    disposer.add(() => b.close());
    a.send({ type: "subscribe", id: "1", topic: "scope/1" });
    await a.next(ofType("subscribed"));
    b.send({ type: "subscribe", id: "1", topic: "scope/1" });
    await b.next(ofType("subscribed"));
    expect(events).toEqual(["active:scope/1"]);
    b.send({ type: "unsubscribe", id: "2", topic: "scope/1" });
    await b.next(ofType("unsubscribed"));
    expect(events).toEqual(["active:scope/1"]);
    const idle = new Promise((resolve) => s.on("topicIdle", resolve));
    await a.close();
    await within(idle, "topicIdle");
    expect(events).toEqual(["active:scope/1", "idle:scope/1"]);
  });

  it("fires topicActive once the first subscriber is live, so a snapshot published from it arrives", async () => {
    const s = await server();
    s.on("topicActive", (topic) => {
      void s.publish(topic, { snapshot: true });
    });
    const c = await connect(s, "first");
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "1", topic: "telescope/1" });
    expect(await c.next(ofType("subscribed"))).toMatchObject({ offset: 0 });
    expect(await c.next(ofType("message"))).toMatchObject({ offset: 1, data: { snapshot: true } });
  });
});

describe("authorization and fan-out", () => {
  it("asks authorize for subscribe and publish and answers forbidden", async () => {
    const asked: string[] = [];
    const s = await server({
      authenticate: (_req, info) => info.clientId,
      authorize: (principal, topic, action) => {
        asked.push(`${String(principal)} ${action} ${topic}`);
        return topic.startsWith("public/");
      },
    });
    const c = await connect(s, "eve");
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "s1", topic: "private/x" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "s1",
      ok: false,
      error: { code: "forbidden" },
    });
    c.send({ type: "publish", id: "p1", topic: "private/x", data: 1 });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "p1",
      ok: false,
      error: { code: "forbidden" },
    });
    c.send({ type: "subscribe", id: "s2", topic: "public/x" });
    await c.next(ofType("subscribed"));
    expect(asked).toEqual([
      "eve subscribe private/x",
      "eve publish private/x",
      "eve subscribe public/x",
    ]);
    expect((await s.broker.head("private/x")).offset).toBe(0);
  });

  it("tells authorize the role, the client_id and what the defaults would decide", async () => {
    const { defineContract, ResumePoint } = await import("@lifeline/protocol");
    const contract = defineContract({
      topics: { open: { schema: ResumePoint, publish: "clients" }, owned: ResumePoint },
    });
    const asked: unknown[] = [];
    const s = await server({
      contract,
      authorize: (_principal, topic, action, access) => {
        asked.push({ topic, action, ...access });
        return access.byDefault;
      },
    });
    const c = await connect(s, "kim");
    disposer.add(() => c.close());
    const data = { offset: 1, epoch: "e" };
    c.send({ type: "publish", id: "p1", topic: "open", data });
    expect(await c.next(ofType("response"))).toMatchObject({ id: "p1", ok: true });
    c.send({ type: "publish", id: "p2", topic: "owned", data });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "p2",
      error: { code: "forbidden" },
    });
    c.send({ type: "subscribe", id: "s1", topic: "undeclared" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "s1",
      error: { code: "forbidden" },
    });
    expect(asked).toEqual([
      { topic: "open", action: "publish", role: "test", clientId: "kim", byDefault: true },
      { topic: "owned", action: "publish", role: "test", clientId: "kim", byDefault: false },
      {
        topic: "undeclared",
        action: "subscribe",
        role: "test",
        clientId: "kim",
        byDefault: false,
      },
    ]);
  });

  it("keeps delivering to everyone else when one client fails", async () => {
    const s = await server();
    const clients = await Promise.all(["a", "b", "c", "d"].map((id) => connect(s, id)));
    for (const c of clients) {
      c.send({ type: "subscribe", id: "s", topic: "t" });
      await c.next(ofType("subscribed"));
    }
    const victim = clients[0] as TestClient;
    const rest = clients.slice(1);
    for (const c of rest) disposer.add(() => c.close());
    await s.publish("t", 1);
    victim.terminate();
    // Publish while the server may still hold the dead socket.
    await s.publish("t", 2);
    await s.publish("t", 3);
    for (const c of rest) {
      await c.next(ofType("message", (m) => m.offset === 3));
      expect(offsetsOf(c)).toEqual([1, 2, 3]);
    }
  });

  it("serialises a broadcast once and counts every delivery", async () => {
    const s = await server();
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(s, `c${i}`)));
    for (const c of clients) {
      disposer.add(() => c.close());
      c.send({ type: "subscribe", id: "s", topic: "t" });
      await c.next(ofType("subscribed"));
    }
    const before = s.stats();
    await s.publish("t", { hello: "all" });
    for (const c of clients) await c.next(ofType("message"));
    const after = s.stats();
    expect(after.broadcasts.count - before.broadcasts.count).toBe(1);
    expect(after.broadcasts.deliveries - before.broadcasts.deliveries).toBe(20);
    expect((after.messagesOut.message ?? 0) - (before.messagesOut.message ?? 0)).toBe(20);
  });

  it("coalesces many frames for one socket within a tick and keeps their order", async () => {
    const s = await server();
    const c = await connect(s, "bulk");
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "s", topic: "t" });
    await c.next(ofType("subscribed"));
    await Promise.all(Array.from({ length: 500 }, (_, i) => s.publish("t", i)));
    await c.next(
      ofType("message", (m) => m.offset === 500),
      "offset 500",
    );
    expect(offsetsOf(c)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it("validates payloads against the contract", async () => {
    const { defineContract, ResumePoint } = await import("@lifeline/protocol");
    // Any TypeBox object schema will do; the protocol's own {offset, epoch} is one.
    const contract = defineContract({
      topics: { "temp/*": { schema: ResumePoint, publish: "clients" } },
    });
    const s = await server({ contract, broker: createMemoryBroker() });
    const c = await connect(s, "typed");
    disposer.add(() => c.close());
    c.send({ type: "publish", id: "p1", topic: "temp/a", data: { offset: "hot", epoch: "e" } });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "p1",
      ok: false,
      error: { code: "invalid_message" },
    });
    await expect(s.publish("temp/a", { offset: -1, epoch: "e" })).rejects.toMatchObject({
      code: "LIFELINE_INVALID_DATA",
    });
    expect((await s.publish("temp/a", { offset: 21, epoch: "e" })).offset).toBe(1);
  });
});
