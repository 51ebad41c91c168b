import type { BrokerHealth } from "@lifeline/server";
import { type RedisServer, startRedisServer } from "@lifeline/test-support";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createRedisBroker,
  type RedisBroker,
  RedisBrokerErrorCode,
  type RedisBrokerOptions,
} from "../src/index.js";
import {
  createLogRecorder,
  createRecorder,
  offsetsOf,
  range,
  waitForHealth,
  within,
} from "./helpers.js";

let server: RedisServer;
const disposers: (() => Promise<void>)[] = [];
let prefixSeq = 0;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.dispose();
});

afterEach(async () => {
  const pending = disposers.splice(0).reverse();
  for (const dispose of pending) await dispose();
  await server.ensureRunning();
});

/** Brokers of one test share a fresh key prefix, as nodes of one cluster would. */
function prefix(): string {
  prefixSeq++;
  return `t${prefixSeq}:`;
}

async function broker(keyPrefix: string, options: RedisBrokerOptions = {}): Promise<RedisBroker> {
  const b = createRedisBroker({ url: server.url, keyPrefix, ...options });
  disposers.push(() => b.close());
  await within(b.ready(), "broker ready", 5000);
  return b;
}

async function redisClient(): Promise<Redis> {
  const r = new Redis(server.url);
  disposers.push(async () => {
    r.disconnect();
  });
  return r;
}

describe("offsets", () => {
  it("assigns unique consecutive offsets to concurrent appends from several nodes", async () => {
    const p = prefix();
    const nodes = await Promise.all([broker(p), broker(p), broker(p)]);
    const results = await Promise.all(
      nodes.flatMap((node, n) => range(1, 100).map((i) => node.append("counts", { n, i }))),
    );
    const sorted = results.map((r) => r.offset).sort((a, b) => a - b);
    expect(sorted).toEqual(range(1, 300));
    expect(new Set(results.map((r) => r.epoch)).size).toBe(1);
    expect(results.every((r) => !r.duplicate)).toBe(true);
    expect(await nodes[0]?.head("counts")).toEqual({ offset: 300, epoch: results[0]?.epoch });
  });

  it("reports head 0 with a stable epoch for a topic never appended to", async () => {
    const b = await broker(prefix());
    const first = await b.head("empty");
    expect(first.offset).toBe(0);
    expect(await b.head("empty")).toEqual(first);
    const appended = await b.append("empty", 1);
    expect(appended).toMatchObject({ offset: 1, epoch: first.epoch });
  });

  it("rejects data that cannot be encoded as JSON without appending", async () => {
    const b = await broker(prefix());
    await expect(b.append("bad", { n: 1n })).rejects.toMatchObject({
      code: RedisBrokerErrorCode.InvalidData,
    });
    expect((await b.head("bad")).offset).toBe(0);
  });
});

describe("batched appends", () => {
  it("appends concurrent calls in call order, each answered with its own offset, in fewer script calls", async () => {
    const p = prefix();
    const a = await broker(p);
    const watcher = await redisClient();
    const listener = await redisClient();
    let liveMessages = 0;
    listener.on("message", () => {
      liveMessages++;
    });
    await listener.subscribe(`${p}{orders}:live`);
    const before = Number(
      (await watcher.info("stats")).match(/total_commands_processed:(\d+)/)?.[1],
    );
    const results = await Promise.all(range(1, 200).map((i) => a.append("orders", { i })));
    const after = Number(
      (await watcher.info("stats")).match(/total_commands_processed:(\d+)/)?.[1],
    );
    expect(results.map((r) => r.offset)).toEqual(range(1, 200));
    const read = await a.readSince("orders", 0, undefined);
    expect(read.entries.map((e) => e.data)).toEqual(range(1, 200).map((i) => ({ i })));
    // One EVALSHA per batch (each counts its inner commands too, 6 or more per entry):
    // 200 separate calls would be 200 * 7.
    expect(after - before).toBeLessThan(200 * 5);
    // One pub/sub message per batch, not per entry. The PING is answered after every
    // message published before it, so all of them have arrived.
    await listener.ping();
    expect(liveMessages).toBeGreaterThan(0);
    expect(liveMessages).toBeLessThan(200);
  });
});

describe("history", () => {
  it("keeps at most maxMessages entries per topic", async () => {
    const b = await broker(prefix(), { history: { maxMessages: 5 } });
    for (const i of range(1, 12)) await b.append("bounded", i);
    const read = await b.readSince("bounded", 0, (await b.head("bounded")).epoch);
    expect(offsetsOf(read.entries)).toEqual(range(8, 12));
    expect(read.entries.map((e) => e.data)).toEqual(range(8, 12));
    expect(read.complete).toBe(false);
    expect(read.head).toBe(12);
  });

  it("drops entries older than maxAgeMs", async () => {
    const b = await broker(prefix(), { history: { maxAgeMs: 30 } });
    const r = await redisClient();
    const first = await b.append("aging", "old");
    // Wait on Redis's own clock, which stamps the entries, until the first one is too old.
    for (let i = 0; i < 10_000; i++) {
      const [s, us] = (await r.time()) as [number, number];
      if (Number(s) * 1000 + Math.floor(Number(us) / 1000) > first.ts + 30) break;
    }
    await b.append("aging", "new");
    const read = await b.readSince("aging", 0, first.epoch);
    expect(read.entries.map((e) => e.data)).toEqual(["new"]);
    expect(read.complete).toBe(false);
    expect(await r.xlen(`${"t"}${prefixSeq}:{aging}:log`)).toBe(1);
  });

  it("tells a complete read from one that lost entries or has another epoch", async () => {
    const b = await broker(prefix(), { history: { maxMessages: 10 } });
    for (const i of range(1, 15)) await b.append("resume", i);
    const { epoch } = await b.head("resume");

    const recent = await b.readSince("resume", 9, epoch);
    expect(offsetsOf(recent.entries)).toEqual(range(10, 15));
    expect(recent.complete).toBe(true);

    const atHead = await b.readSince("resume", 15, epoch);
    expect(atHead).toEqual({ epoch, entries: [], complete: true, head: 15 });

    const trimmed = await b.readSince("resume", 2, epoch);
    expect(offsetsOf(trimmed.entries)).toEqual(range(6, 15));
    expect(trimmed.complete).toBe(false);

    const otherEpoch = await b.readSince("resume", 9, "not-this-epoch");
    expect(otherEpoch.complete).toBe(false);
    expect(otherEpoch.epoch).toBe(epoch);

    const ahead = await b.readSince("resume", 99, epoch);
    expect(ahead.complete).toBe(false);
    expect(ahead.entries).toEqual([]);
  });

  it("recovers on another node from the history appended through the first", async () => {
    const p = prefix();
    const [a, b] = await Promise.all([broker(p), broker(p)]);
    const appended = [];
    for (const i of range(1, 5)) appended.push(await a.append("shared", { i }));
    const read = await b.readSince("shared", 2, appended[0]?.epoch);
    expect(read.complete).toBe(true);
    expect(read.entries.map((e) => e.data)).toEqual([{ i: 3 }, { i: 4 }, { i: 5 }]);
    expect(read.entries.map((e) => e.ts)).toEqual(appended.slice(2).map((r) => r.ts));
  });
});

describe("dedupe", () => {
  it("appends a message retried on another node once and answers both with the first result", async () => {
    const p = prefix();
    const [a, b] = await Promise.all([broker(p), broker(p)]);
    const first = await a.append("orders", { n: 1 }, { dedupeKey: "client-1:req-1" });
    const retried = await b.append("orders", { n: 1 }, { dedupeKey: "client-1:req-1" });
    expect(first.duplicate).toBe(false);
    expect(retried).toEqual({ ...first, duplicate: true });
    const other = await b.append("orders", { n: 2 }, { dedupeKey: "client-1:req-2" });
    expect(other.offset).toBe(first.offset + 1);
    expect((await a.head("orders")).offset).toBe(2);
  });

  it("answers a key repeated within one batch as a duplicate and appends the batch in call order", async () => {
    const p = prefix();
    const a = await broker(p);
    const keys = ["k1", "k2", "k1", "k3", "k2"];
    const results = await Promise.all(
      keys.map((key, i) => a.append("orders", { i }, { dedupeKey: key })),
    );
    expect(results.map((r) => [r.offset, r.duplicate])).toEqual([
      [1, false],
      [2, false],
      [1, true],
      [3, false],
      [2, true],
    ]);
    const read = await a.readSince("orders", 0, undefined);
    expect(read.entries.map((e) => e.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 3 }]);
  });

  it("forgets a dedupe key after dedupeWindowMs", async () => {
    const p = prefix();
    const b = await broker(p, { dedupeWindowMs: 1 });
    const r = await redisClient();
    await b.append("short", 1, { dedupeKey: "c:1" });
    for (let i = 0; i < 10_000 && (await r.exists(`${p}{short}:dedupe:c:1`)) === 1; i++) {}
    const again = await b.append("short", 1, { dedupeKey: "c:1" });
    expect(again).toMatchObject({ offset: 2, duplicate: false });
  });
});

describe("fan-out", () => {
  it("delivers every append from any node to subscribers on every node once and in order", async () => {
    const p = prefix();
    const nodes = await Promise.all([broker(p), broker(p), broker(p)]);
    const recorders = nodes.map(() => createRecorder());
    for (const [i, node] of nodes.entries()) {
      const recorder = recorders[i];
      if (recorder) await node.subscribe("ticks", recorder.listener);
    }
    await Promise.all(
      nodes.map((node, n) => Promise.all(range(1, 50).map((i) => node.append("ticks", { n, i })))),
    );
    for (const recorder of recorders) {
      await recorder.waitForCount(150);
      expect(offsetsOf(recorder.entries)).toEqual(range(1, 150));
    }
    expect(recorders[0]?.entries).toEqual(recorders[2]?.entries);
  });

  it("delivers only entries appended after subscribe resolved", async () => {
    const p = prefix();
    const [a, b] = await Promise.all([broker(p), broker(p)]);
    await a.append("late", "before");
    const recorder = createRecorder();
    const unsubscribe = await b.subscribe("late", recorder.listener);
    await a.append("late", "after");
    await recorder.waitForCount(1);
    expect(recorder.entries.map((e) => e.data)).toEqual(["after"]);
    await unsubscribe();
    await a.append("late", "gone");
    const other = createRecorder();
    await b.subscribe("late", other.listener);
    await a.append("late", "again");
    await other.waitForCount(1);
    expect(recorder.entries.map((e) => e.data)).toEqual(["after"]);
    expect(other.entries.map((e) => e.offset)).toEqual([4]);
  });

  it("fills what a node missed while its pub/sub connection was cut, without duplicates", async () => {
    const p = prefix();
    const [a, b] = await Promise.all([broker(p), broker(p)]);
    const r = await redisClient();
    const recorder = createRecorder();
    await b.subscribe("cut", recorder.listener);
    await a.append("cut", 0);
    await recorder.waitForCount(1);
    const lost = waitForHealth(b, (h) => !h.healthy);
    // Cut every pub/sub connection (only b's subscriber listens here) and keep appending.
    const appending = Promise.all(range(1, 100).map((i) => a.append("cut", i)));
    await r.client("KILL", "TYPE", "pubsub");
    await appending;
    await lost;
    await recorder.waitForCount(101);
    await a.append("cut", 101);
    await recorder.waitForCount(102);
    expect(offsetsOf(recorder.entries)).toEqual(range(1, 102));
  });
});

describe("Redis restart", () => {
  it("reports unhealthy, rejects appends, then recovers with a new epoch and no duplicate", async () => {
    const p = prefix();
    const [a, b] = await Promise.all([broker(p), broker(p)]);
    const recorder = createRecorder();
    await b.subscribe("restart", recorder.listener);
    const before = await a.append("restart", "before");
    await recorder.waitForCount(1);
    expect(a.masters()).toEqual([`127.0.0.1:${server.port}`]);

    await server.stop();
    const commandDown = (h: BrokerHealth) => /command connection/.test(h.detail ?? "");
    await Promise.all([waitForHealth(a, commandDown), waitForHealth(b, (h) => !h.healthy)]);
    expect(a.health().detail).toMatch(
      /redis command connection (connecting|reconnecting|close|end)/,
    );
    expect(a.masters()).toEqual([]);
    const failed = a.append("restart", "during");
    await expect(failed).rejects.toMatchObject({ code: RedisBrokerErrorCode.Unavailable });
    await expect(failed).rejects.toThrow(/nothing was appended/);
    await expect(b.subscribe("other", () => {})).rejects.toMatchObject({
      code: RedisBrokerErrorCode.Unavailable,
    });

    await server.start();
    await Promise.all([waitForHealth(a, (h) => h.healthy), waitForHealth(b, (h) => h.healthy)]);
    const after = await a.append("restart", "after");
    expect(after.epoch).not.toBe(before.epoch);
    expect(after.offset).toBe(1);
    await recorder.waitForCount(2);
    const second = await a.append("restart", "after-2");
    await recorder.waitForCount(3);
    expect(recorder.entries.map((e) => [e.epoch, e.offset, e.data])).toEqual([
      [before.epoch, 1, "before"],
      [after.epoch, 1, "after"],
      [second.epoch, 2, "after-2"],
    ]);
    const read = await b.readSince("restart", before.offset, before.epoch);
    expect(read.complete).toBe(false);
    expect(read.epoch).toBe(after.epoch);
  });
});

describe("health logging", () => {
  it("warns once when Redis is lost, not while the first connection comes up", async () => {
    const log = createLogRecorder();
    const b = await broker(prefix(), { logger: log });
    await expect(log.waitFor(/unhealthy/, 1)).rejects.toThrow(/timed out/);

    await server.stop();
    await waitForHealth(b, (h) => !h.healthy);
    await log.waitFor(/redis broker unhealthy/);
    expect(log.count(/redis broker unhealthy/)).toBe(1);
  });
});

describe("history regression", () => {
  it("starts a new epoch when Redis forgot offsets a node already delivered", async () => {
    const p = prefix();
    const logs = createLogRecorder();
    const [a, b] = await Promise.all([broker(p), broker(p, { logger: logs })]);
    const r = await redisClient();
    const recorder = createRecorder();
    await b.subscribe("aof", recorder.listener);
    for (const i of range(1, 5)) await a.append("aof", i);
    await recorder.waitForCount(5);
    const { epoch } = await a.head("aof");

    // What a restart from an AOF fsynced every second can leave: offsets 4 and 5 forgotten...
    await r.hset(`${p}{aof}:meta`, "seq", 3);
    await r.xdel(`${p}{aof}:log`, "4-0", "5-0");
    await r.xsetid(`${p}{aof}:log`, "3-0");
    // ...then handed out again to new appends, which b must not take for ones it has seen.
    await a.append("aof", "reused-4");
    await a.append("aof", "reused-5");
    const lost = waitForHealth(b, (h) => !h.healthy);
    await r.client("KILL", "TYPE", "pubsub");
    await lost;
    await logs.waitFor(/started a new epoch/);

    const after = await a.append("aof", "fresh");
    await recorder.waitForCount(6);
    expect(after.epoch).not.toBe(epoch);
    expect(after.offset).toBe(1);
    expect(recorder.entries.map((e) => [e.offset, e.data])).toEqual([
      ...range(1, 5).map((i) => [i, i]),
      [1, "fresh"],
    ]);
    expect(recorder.entries[5]?.epoch).toBe(after.epoch);
  });
});

describe("close", () => {
  it("rejects operations after close and reports closed", async () => {
    const b = await broker(prefix());
    await b.close();
    expect(b.health()).toEqual({ healthy: false, detail: "redis broker closed" });
    await expect(b.append("x", 1)).rejects.toMatchObject({ code: RedisBrokerErrorCode.Closed });
  });
});

describe("latest-per-key table", () => {
  it("is shared by every node, kept per key in offset order, paged and bounded", async () => {
    const keyPrefix = prefix();
    const a = await broker(keyPrefix, { history: { maxConflatedKeys: 3 } });
    const b = await broker(keyPrefix);
    const put = (key: string, n: number) =>
      a.append("t", { key, changes: { n } }, { conflate: { key, value: { key, full: { n } } } });
    await put("x", 1);
    await put("y", 1);
    await put("x", 2);
    await a.append("t", "not conflated");
    await put("z", 1);
    const read = await b.latest("t");
    expect(read.head).toBe(5);
    expect(read.entries.map((e) => [e.offset, e.data])).toEqual([
      [2, { key: "y", full: { n: 1 } }],
      [3, { key: "x", full: { n: 2 } }],
      [5, { key: "z", full: { n: 1 } }],
    ]);
    expect((await b.latest("t", { after: 2 })).entries.map((e) => e.offset)).toEqual([3, 5]);
    expect((await b.latest("t", { limit: 2 })).entries.map((e) => e.offset)).toEqual([3, 5]);
    await put("w", 1);
    const bounded = await b.latest("t");
    expect(bounded.entries.map((e) => (e.data as { key: string }).key)).toEqual(["x", "z", "w"]);
    // A batch of appends keeps each key's latest too.
    await Promise.all([put("x", 3), put("y", 3), put("x", 4)]);
    const after = await b.latest("t", { after: 6 });
    expect(after.entries.map((e) => e.data)).toEqual([
      { key: "y", full: { n: 3 } },
      { key: "x", full: { n: 4 } },
    ]);
  });

  it("starts empty with a new epoch when the topic's history is lost", async () => {
    const keyPrefix = prefix();
    const a = await broker(keyPrefix);
    await a.append("t", 1, { conflate: { key: "k" } });
    const before = await a.latest("t");
    expect(before.entries.map((e) => e.data)).toEqual([1]);
    const redis = await redisClient();
    await redis.del(`${keyPrefix}{t}:meta`);
    const after = await a.latest("t");
    expect(after.epoch).not.toBe(before.epoch);
    expect(after.entries).toEqual([]);
    expect(await redis.exists(`${keyPrefix}{t}:latest`, `${keyPrefix}{t}:latest-order`)).toBe(0);
  });
});
