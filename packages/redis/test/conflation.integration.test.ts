import type { MessageMeta } from "@lifeline/client";
import { defineContract, type StandardSchemaV1 } from "@lifeline/protocol";
import type { LifelineServer } from "@lifeline/server";
import {
  connect,
  createDisposer,
  ofType,
  type RedisServer,
  startRedisServer,
  type TestClient,
  within,
} from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { brokerMatrix, quietClient } from "./broker-matrix.js";

// Conflation (PROTOCOL.md, "Conflation") and deltas on the memory and the Redis broker: the
// latest-per-key table serves rewinds and a slow reader's catch-up, which is not closed.

let redis: RedisServer;
const disposer = createDisposer();
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.dispose());
afterEach(() => disposer.run());

const brokers = brokerMatrix(() => redis.url, disposer, "conflation");

/** Any JSON value: a Standard Schema that accepts everything, so no schema library is needed. */
const anything: StandardSchemaV1 = {
  "~standard": { version: 1, vendor: "test", validate: (value) => ({ value }) },
};
const contract = defineContract({
  topics: { status: { schema: anything, conflate: { key: "key" } }, ticks: anything },
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe.each(brokers)("conflation on the %s broker", (_name, start) => {
  it("a client joining with rewind gets every key's whole state from deltas", async () => {
    const server = await start(5, { contract, deltas: { fullEvery: 10 } });
    for (let n = 1; n <= 12; n += 1) {
      await server.publishDelta("status", `scope-${n % 3}`, { n, [`seen${n % 3}`]: true });
    }
    const c = quietClient(disposer, server, "late");
    const got: { data: unknown; meta: MessageMeta }[] = [];
    const all = new Promise<void>((resolve) => {
      c.subscribe(
        "status",
        (data, meta) => {
          got.push({ data, meta });
          if (got.length === 3) resolve();
        },
        { rewind: 3 },
      );
    });
    await within(all, "three keys");
    expect(got.map((m) => [m.meta.offset, m.meta.conflated, m.data])).toEqual([
      [10, true, { key: "scope-1", full: { n: 10, seen1: true } }],
      [11, true, { key: "scope-2", full: { n: 11, seen2: true } }],
      [12, true, { key: "scope-0", full: { n: 12, seen0: true } }],
    ]);
  });

  it("a slow reader catches up with the latest per key and is not closed", async () => {
    const server = await start(10, {
      contract,
      heartbeat: { intervalMs: 0 },
      limits: { highWaterMark: 256 * 1024, conflateHighWaterMark: 32 * 1024, maxRewind: 10 },
    });
    const closes = new Map<string, number>();
    server.on("disconnect", (connection, close) => closes.set(connection.clientId, close.code));
    const plainClosed = new Promise<{ code: number }>((resolve) => {
      server.on("disconnect", (connection, close) => {
        if (connection.clientId === "plain") resolve(close);
      });
    });
    const conflated = await rawClient(server, "conflated");
    const plain = await rawClient(server, "plain");
    conflated.send({ type: "subscribe", id: "s", topic: "status", conflate: true });
    plain.send({ type: "subscribe", id: "s", topic: "ticks", conflate: true });
    await conflated.next(ofType("subscribed"));
    await plain.next(ofType("subscribed"));
    conflated.pause();
    plain.pause();
    const pad = "x".repeat(8 * 1024);
    const last: Record<string, number> = {};
    // Until the plain reader is found slow (its close may wait for a grace period).
    for (let n = 0; n < 6000 && server.stats().slowConsumers === 0; n += 1) {
      const key = `k${n % 4}`;
      await server.publish("status", { key, n, pad });
      last[key] = n;
      await server.publish("ticks", { n, pad });
      if (n % 20 === 0) await turn();
    }
    expect((await within(plainClosed, "plain closed", 10_000)).code).toBe(1013);
    conflated.resume();
    const latest = () => {
      const seen: Record<string, number> = {};
      for (const m of conflated.received) {
        if (m.type !== "message") continue;
        const data = m.data as { key: string; n: number };
        seen[data.key] = data.n;
      }
      return JSON.stringify(seen);
    };
    if (latest() !== JSON.stringify(last)) {
      await conflated.next(
        ofType("message", () => latest() === JSON.stringify(last)),
        "latest",
        10_000,
      );
    }
    expect(closes.has("conflated")).toBe(false);
    expect(server.stats().conflatedCatchUps).toBeGreaterThan(0);
    expect(conflated.received.some((m) => m.type === "message" && m.conflated === true)).toBe(true);
  });
});

async function rawClient(server: LifelineServer, clientId: string): Promise<TestClient> {
  const c = await connect(server, clientId);
  disposer.add(() => c.terminate());
  return c;
}
