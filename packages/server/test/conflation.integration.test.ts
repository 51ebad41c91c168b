import { defineContract } from "@lifeline/protocol";
import type { Message } from "@lifeline/test-support";
import { Type } from "@sinclair/typebox";
import { afterEach, describe, expect, it } from "vitest";
import type { LifelineServer } from "../src/index.js";
import {
  connectClosedAfterEach,
  createDisposer,
  ofType,
  serverClosedAfterEach,
  type TestClient,
  within,
} from "./helpers.js";

// PROTOCOL.md, "Conflation": a conflated topic keeps the latest message per key; a
// subscriber that asked for conflated delivery gets the latest per key when it falls behind
// or rewinds, marked `conflated`, and is not closed; other topics keep the 1013 policy.

const disposer = createDisposer();
afterEach(() => disposer.run());
const server = serverClosedAfterEach(disposer);
const client = (s: { readonly port: number }, id: string) =>
  connectClosedAfterEach(disposer, s, id);
const turn = () => new Promise((resolve) => setImmediate(resolve));

const contract = defineContract({
  topics: {
    status: { schema: Type.Unknown(), conflate: { key: "id" } },
    "device/*/state": { schema: Type.Unknown(), conflate: {} },
    ticks: Type.Unknown(),
  },
});

const messagesOf = (c: TestClient, topic: string) =>
  c.received.filter((m) => m.type === "message" && m.topic === topic);

async function subscribe(c: TestClient, topic: string, extra: Record<string, unknown> = {}) {
  c.send({ type: "subscribe", id: `s-${topic}`, topic, conflate: true, ...extra });
  return c.next(ofType("subscribed", (m) => m.topic === topic));
}

describe("conflated topics", () => {
  it("announce conflation in hello.features", async () => {
    const s = await server({ contract });
    expect((await client(s, "f")).hello.features).toContain("conflation");
  });

  it("rewind gives the latest message of each key in offset order, marked conflated", async () => {
    const s = await server({ contract });
    for (const [id, n] of [
      ["a", 1],
      ["b", 1],
      ["a", 2],
      ["c", 1],
      ["b", 2],
    ] as const) {
      await s.publish("status", { id, n });
    }
    const all = await client(s, "all");
    expect(await subscribe(all, "status", { rewind: 10 })).toMatchObject({
      offset: 5,
      replayed: 3,
      recovered: true,
    });
    expect(messagesOf(all, "status").map((m) => [m.offset, m.data, m.conflated])).toEqual([
      [3, { id: "a", n: 2 }, true],
      [4, { id: "c", n: 1 }, true],
      [5, { id: "b", n: 2 }, true],
    ]);
    const two = await client(s, "two");
    await subscribe(two, "status", { rewind: 2 });
    expect(messagesOf(two, "status").map((m) => m.offset)).toEqual([4, 5]);
    await s.publish("status", { id: "a", n: 3 });
    const live = await two.next(ofType("message", (m) => m.offset === 6));
    expect(live).not.toHaveProperty("conflated");
  });

  it("a topic without a key keeps only its latest message", async () => {
    const s = await server({ contract });
    for (let n = 1; n <= 4; n += 1) await s.publish("device/d1/state", { n });
    const c = await client(s, "one");
    await subscribe(c, "device/d1/state", { rewind: 100 });
    expect(messagesOf(c, "device/d1/state").map((m) => [m.offset, m.data])).toEqual([
      [4, { n: 4 }],
    ]);
  });

  it("a client that did not ask for conflation gets the plain rewind, unmarked", async () => {
    const s = await server({ contract });
    for (let n = 1; n <= 3; n += 1) await s.publish("status", { id: "a", n });
    const c = await client(s, "old");
    c.send({ type: "subscribe", id: "s", topic: "status", rewind: 3 });
    await c.next(ofType("subscribed"));
    const replayed = messagesOf(c, "status");
    expect(replayed.map((m) => m.offset)).toEqual([1, 2, 3]);
    expect(replayed.some((m) => "conflated" in m)).toBe(false);
  });

  it("resumes past expired history with the latest of each key changed since, recovered", async () => {
    const s = await server({ contract, history: { maxMessages: 2 } });
    for (const [id, n] of [
      ["a", 1],
      ["b", 1],
      ["c", 1],
      ["a", 2],
      ["c", 2],
    ] as const) {
      await s.publish("status", { id, n });
    }
    const { epoch } = await s.broker.head("status");
    const c = await client(s, "resume");
    expect(await subscribe(c, "status", { since: { offset: 1, epoch } })).toMatchObject({
      recovered: true,
      replayed: 3,
      offset: 5,
    });
    expect(messagesOf(c, "status").map((m) => m.data)).toEqual([
      { id: "b", n: 1 },
      { id: "a", n: 2 },
      { id: "c", n: 2 },
    ]);
  });

  it("a slow reader gets the latest per key and stays open; a normal topic's slow reader gets 1013", async () => {
    const s = await server({
      contract,
      heartbeat: { intervalMs: 0 },
      limits: { highWaterMark: 256 * 1024, conflateHighWaterMark: 32 * 1024 },
      history: { maxMessages: 10 },
    });
    const closes = new Map<string, number>();
    s.on("disconnect", (connection, close) => closes.set(connection.clientId, close.code));
    const conflated = await client(s, "conflated");
    const plain = await client(s, "plain");
    const fast = await client(s, "fast");
    await subscribe(conflated, "status");
    await subscribe(plain, "ticks");
    await subscribe(fast, "status");
    // Both readers stop reading: the kernel buffers fill, then the server's.
    conflated.pause();
    plain.pause();
    const plainClosed = new Promise<{ code: number }>((resolve) => {
      s.on("disconnect", (connection, close) => {
        if (connection.clientId === "plain") resolve(close);
      });
    });
    // Until the plain reader is found slow (its close may wait for a grace period).
    const last = await publishUntilClosed(s, () => s.stats().slowConsumers > 0);
    expect((await within(plainClosed, "plain closed", 10_000)).code).toBe(1013);
    expect(closes.has("conflated")).toBe(false);
    expect(s.stats().conflatedCatchUps).toBeGreaterThan(0);

    // A reader that never stopped got every message.
    await fast.next(
      ofType("message", (m) => m.offset === last.offset),
      "fast: last",
      10_000,
    );
    expect(messagesOf(fast, "status")).toHaveLength(last.offset);

    conflated.resume();
    const latest = await latestPerKey(conflated, last.perKey);
    expect(latest).toEqual(last.perKey);
    const received = messagesOf(conflated, "status");
    const offsets = received.map((m) => m.offset as number);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(new Set(offsets).size).toBe(offsets.length);
    // It skipped most messages, and every skip is marked on the message after it.
    expect(received.length).toBeLessThan(last.offset);
    for (let i = 1; i < received.length; i += 1) {
      const message = received[i] as Message;
      if ((message.offset as number) > (received[i - 1]?.offset as number) + 1) {
        expect(message.conflated).toBe(true);
      }
    }
    // Still subscribed and live.
    await s.publish("status", { id: "k0", n: -1, pad: "" });
    await conflated.next(ofType("message", (m) => (m.data as { n: number }).n === -1));
    expect(conflated.isOpen()).toBe(true);
  });
});

/**
 * Publishes 8 KiB messages to `status` (keys k0..k4) and `ticks` until `stop()`, bounded;
 * returns the last offset of `status` and the last data of each key.
 */
async function publishUntilClosed(s: LifelineServer, stop: () => boolean) {
  const pad = "x".repeat(8 * 1024);
  const perKey: Record<string, number> = {};
  let offset = 0;
  for (let n = 0; n < 6000 && !stop(); n += 1) {
    const id = `k${n % 5}`;
    offset = (await s.publish("status", { id, n, pad })).offset;
    perKey[id] = n;
    await s.publish("ticks", { n, pad });
    if (n % 20 === 0) await turn();
  }
  return { offset, perKey };
}

/** Waits until the latest data `c` received per key equals `expected`. */
async function latestPerKey(c: TestClient, expected: Record<string, number>) {
  const seen = (): Record<string, number> => {
    const latest: Record<string, number> = {};
    for (const m of messagesOf(c, "status")) {
      const data = m.data as { id: string; n: number };
      latest[data.id] = data.n;
    }
    return latest;
  };
  const done = () => JSON.stringify(seen()) === JSON.stringify(expected);
  if (!done()) {
    await within(
      c
        .next(
          ofType("message", () => done()),
          "latest per key",
          10_000,
        )
        .then(() => undefined),
      "latest per key",
      10_000,
    );
  }
  return seen();
}
