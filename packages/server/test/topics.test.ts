import { describe, expect, it } from "vitest";
import type { Connection } from "../src/connection.js";
import { createMemoryBroker, systemClock } from "../src/index.js";
import { Topics } from "../src/topics.js";
import type { PreparedMessage } from "../src/transport/index.js";

/** A stand-in for a connection that records what it was sent. */
function fakeConnection(options: { throws?: boolean } = {}) {
  const sent: Record<string, unknown>[] = [];
  const record = (message: PreparedMessage) => {
    if (options.throws) throw new Error("socket exploded");
    sent.push(JSON.parse(message.text) as Record<string, unknown>);
    return message.textBytes;
  };
  const subscriptions = new Set<string>();
  const connection = {
    subscriptions,
    addSubscription: (topic: string) => subscriptions.add(topic),
    removeSubscription: (topic: string) => subscriptions.delete(topic),
    deliver: record,
    sendPrepared: record,
  } as unknown as Connection;
  return { connection, sent };
}

function hooks() {
  const events: string[] = [];
  const failures: unknown[] = [];
  const broadcasts: number[] = [];
  return {
    events,
    failures,
    broadcasts,
    hooks: {
      onActive: (topic: string) => events.push(`active:${topic}`),
      onIdle: (topic: string) => events.push(`idle:${topic}`),
      onBroadcast: (_seconds: number, recipients: number) => broadcasts.push(recipients),
      onDeliveryError: (_connection: Connection, error: unknown) => failures.push(error),
      onEncodeError: (_entry: unknown, error: unknown) => failures.push(error),
      onFellBehind: (_connection: Connection, topic: string) => events.push(`behind:${topic}`),
      onCatchUpError: (_connection: Connection, _topic: string, error: unknown) =>
        failures.push(error),
    },
  };
}

const noConflation = { isConflated: () => false, highWaterMark: 1024, clock: systemClock };

describe("Topics", () => {
  it("keeps delivering to the others when one subscriber throws", async () => {
    const broker = createMemoryBroker();
    const h = hooks();
    const topics = new Topics(broker, h.hooks, noConflation);
    const good = fakeConnection();
    const bad = fakeConnection({ throws: true });
    const alsoGood = fakeConnection();
    for (const c of [good, bad, alsoGood]) {
      await topics.subscribe(c.connection, "t", {}, () => {});
    }
    await broker.append("t", "x");
    expect(good.sent.map((m) => m.data)).toEqual(["x"]);
    expect(alsoGood.sent.map((m) => m.data)).toEqual(["x"]);
    expect(h.failures).toHaveLength(1);
    expect(h.broadcasts).toEqual([2]);
  });

  it("serialises one message for every recipient", async () => {
    const broker = createMemoryBroker();
    const topics = new Topics(broker, hooks().hooks, noConflation);
    const seen = new Set<PreparedMessage>();
    const connections = Array.from({ length: 5 }, () => {
      const connection = {
        subscriptions: new Set<string>(),
        addSubscription: () => {},
        removeSubscription: () => {},
        deliver: (message: PreparedMessage) => (seen.add(message) ? 1 : -1),
        sendPrepared: () => true,
      } as unknown as Connection;
      return connection;
    });
    for (const c of connections) await topics.subscribe(c, "t", {}, () => {});
    await broker.append("t", { big: "payload" });
    expect(seen.size).toBe(1);
  });

  it("encodes a broadcast once per codec, whatever the mix of recipients", async () => {
    const broker = createMemoryBroker();
    const topics = new Topics(broker, hooks().hooks, noConflation);
    const seen = new Set<PreparedMessage>();
    const connections = ["json", "msgpack", "json", "msgpack", "msgpack", "json"].map((codec) => {
      // As the WebSocket transport of each codec does: the frame of its wire.
      const deliver = (message: PreparedMessage) => {
        seen.add(message);
        return codec === "json" ? message.textFrame.length : message.binaryFrame.length;
      };
      return {
        subscriptions: new Set<string>(),
        addSubscription: () => {},
        removeSubscription: () => {},
        deliver,
        sendPrepared: () => true,
      } as unknown as Connection;
    });
    for (const c of connections) await topics.subscribe(c, "t", {}, () => {});
    await broker.append("t", { payload: "x".repeat(200) });
    expect(seen.size).toBe(1);
    const [prepared] = [...seen] as [PreparedMessage];
    expect([prepared.jsonEncodes, prepared.msgpackEncodes, prepared.sseEncodes]).toEqual([1, 1, 0]);
  });

  it("emits demand events on the first subscriber and after the last leaves", async () => {
    const broker = createMemoryBroker();
    const h = hooks();
    const topics = new Topics(broker, h.hooks, noConflation);
    const a = fakeConnection();
    const b = fakeConnection();
    await topics.subscribe(a.connection, "t", {}, () => {});
    await topics.subscribe(b.connection, "t", {}, () => {});
    topics.unsubscribe(a.connection, "t");
    expect(h.events).toEqual(["active:t"]);
    topics.removeConnection(b.connection);
    expect(h.events).toEqual(["active:t", "idle:t"]);
    expect(topics.activeCount).toBe(0);
    expect(topics.unsubscribe(b.connection, "t")).toBe(false);
  });

  it("delivers entries appended during the history read after it, without duplicates", async () => {
    const base = createMemoryBroker({ epoch: "e" });
    for (let i = 1; i <= 3; i += 1) await base.append("t", i);
    // A broker whose history read lets two more appends land before it answers.
    const racing = {
      ...base,
      async readSince(topic: string, after: number, epoch: string | undefined) {
        const read = await base.readSince(topic, after, epoch);
        await base.append("t", 4);
        await base.append("t", 5);
        return read;
      },
    };
    const topics = new Topics(racing, hooks().hooks, noConflation);
    const c = fakeConnection();
    const outcomes: unknown[] = [];
    await topics.subscribe(c.connection, "t", { since: { offset: 1, epoch: "e" } }, (o) => {
      outcomes.push(o);
      c.sent.push({ type: "subscribed" });
    });
    await base.append("t", 6);
    expect(outcomes).toEqual([{ offset: 3, epoch: "e", recovered: true, replayed: 2 }]);
    expect(c.sent.map((m) => (m.type === "subscribed" ? "subscribed" : m.offset))).toEqual([
      2,
      3,
      "subscribed",
      4,
      5,
      6,
    ]);
  });

  it("reports a failing broker subscription to the subscriber and forgets the topic", async () => {
    const base = createMemoryBroker();
    const failing = {
      ...base,
      subscribe: () => Promise.reject(new Error("broker down")),
    };
    const h = hooks();
    const topics = new Topics(failing, h.hooks, noConflation);
    const c = fakeConnection();
    await expect(topics.subscribe(c.connection, "t", {}, () => {})).rejects.toThrow("broker down");
    expect(topics.activeCount).toBe(0);
    expect(c.connection.subscriptions.size).toBe(0);
  });
});
