import type { LogEntry } from "@lifeline/server";
import { type RedisServer, startRedisServer } from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRedisBroker, type RedisBroker } from "../src/index.js";
import { type FixtureProcess, startFixture } from "./cluster-process.js";
import { createRecorder, offsetsOf, range, within } from "./helpers.js";

let redis: RedisServer;
const disposers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  await redis?.dispose();
});

afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function broker(keyPrefix: string): Promise<RedisBroker> {
  const b = createRedisBroker({ url: redis.url, keyPrefix });
  disposers.push(() => b.close());
  await within(b.ready(), "broker ready", 5000);
  return b;
}

async function appender(keyPrefix: string, topic: string): Promise<FixtureProcess> {
  const proc = await startFixture(
    "appender",
    { REDIS_URL: redis.url, KEY_PREFIX: keyPrefix, TOPIC: topic },
    /READY/,
  );
  disposers.push(() => proc.kill());
  return proc;
}

describe("a node killed with SIGKILL in the middle of appends", () => {
  it("leaves no hole and no duplicate in the log or in what other nodes deliver", async () => {
    const p = "kill:";
    const [a, b] = await Promise.all([broker(p), broker(p)]);
    const recorder = createRecorder();
    await b.subscribe("flow", recorder.listener);
    const [first, second] = await Promise.all([appender(p, "flow"), appender(p, "flow")]);
    const from = (pid: number) => (entries: readonly LogEntry[]) =>
      entries.some((e) => (e.data as { from?: number }).from === pid);
    // Both are appending (a loaded machine may start one late) before the first dies.
    await recorder.waitUntil(
      (entries) => entries.length >= 200 && from(first.pid)(entries) && from(second.pid)(entries),
      "200 entries from both appenders",
    );
    await first.kill("SIGKILL");
    const afterFirst = recorder.entries.length;
    await recorder.waitForCount(afterFirst + 100);
    await second.kill("SIGKILL");

    const last = await a.append("flow", "after the kills");
    await recorder.waitForCount(last.offset);
    expect(offsetsOf(recorder.entries)).toEqual(range(1, last.offset));
    expect(recorder.entries.at(-1)?.data).toBe("after the kills");

    const read = await a.readSince("flow", last.offset - 100, last.epoch);
    expect(read.complete).toBe(true);
    expect(offsetsOf(read.entries)).toEqual(range(last.offset - 99, last.offset));
    const senders = new Set(recorder.entries.map((e) => (e.data as { from?: number }).from));
    expect(senders.has(first.pid) && senders.has(second.pid)).toBe(true);
  });
});
