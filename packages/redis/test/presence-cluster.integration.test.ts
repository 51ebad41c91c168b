import {
  type RedisCluster,
  redisClusterAvailability,
  skipWithout,
  startRedisCluster,
} from "@lifeline/test-support";
import { Cluster } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { keySlot } from "../src/cluster/slots.js";
import { createRedisBroker, type RedisBroker } from "../src/index.js";
import { within } from "./helpers.js";
import { entry, ids, presenceOf, watcher } from "./presence-watcher.js";

// Presence on a Redis Cluster of three masters (PROTOCOL.md, "Presence"): each topic's
// presence keys and diff channel share its hash tag, so its scripts run on its slot and
// publish there with SPUBLISH; the node registry and heartbeats share `{presence}`.

let redisCluster: RedisCluster;
let template: Cluster;
const disposers: (() => Promise<void>)[] = [];

const skip = skipWithout("Redis Cluster (redis-server, redis-cli)", redisClusterAvailability());

beforeAll(async () => {
  if (skip) return;
  redisCluster = await startRedisCluster();
  template = new Cluster([...redisCluster.startupNodes], { lazyConnect: true });
}, 60_000);

afterAll(async () => {
  template?.disconnect();
  await redisCluster?.dispose();
});

afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function broker(keyPrefix: string, nodeTimeoutMs: number): Promise<RedisBroker> {
  const b = createRedisBroker({ cluster: template, keyPrefix, presence: { nodeTimeoutMs } });
  disposers.push(() => b.close());
  await within(b.ready(), "broker ready", 10_000);
  return b;
}

/** One topic per master, by the cluster's own slot table. */
async function topicPerMaster(): Promise<string[]> {
  const client = new Cluster([...redisCluster.startupNodes]);
  disposers.push(async () => client.disconnect());
  await client.ping();
  const byMaster = new Map<string, string>();
  for (let i = 0; i < 1000; i += 1) {
    const topic = `room-${i}`;
    const master = client.slots[keySlot(topic)]?.[0];
    if (master !== undefined && !byMaster.has(master)) byMaster.set(master, topic);
  }
  return [...byMaster.values()];
}

describe.skipIf(skip)("presence on a Redis Cluster", () => {
  it("shares members across nodes on topics of every master, and reaps a node that stopped", async () => {
    const p = "prc1:";
    const nodeTimeoutMs = 3000;
    const [a, b] = await Promise.all([broker(p, nodeTimeoutMs), broker(p, nodeTimeoutMs)]);
    const topics = await topicPerMaster();
    expect(topics).toHaveLength(3);
    for (const topic of topics) {
      const seen = await watcher(b, topic, disposers);
      await presenceOf(a).hold(topic, entry("alice"));
      await seen.until(() => seen.ids().includes("alice"), `alice joins ${topic}`);
      // Held by both nodes: the first to let go changes nothing.
      await presenceOf(b).hold(topic, entry("alice"));
      await presenceOf(a).release(topic, "alice");
      await presenceOf(a).hold(topic, entry(`gone-${topic}`));
      await seen.until(() => seen.ids().length === 2, `the second member joins ${topic}`);
      expect(ids(await presenceOf(a).members(topic))).toEqual(["alice", `gone-${topic}`]);
      expect(seen.changes.flatMap((c) => c.leaves)).toEqual([]);
    }
    // a stops without releasing: b's sweep finds its heartbeat expired and reaps it.
    const watches = await Promise.all(topics.map((topic) => watcher(b, topic, disposers)));
    await a.close();
    const stoppedAt = Date.now();
    for (const [index, seen] of watches.entries()) {
      await seen.until(
        () => seen.ids().join() === "alice",
        `a's member leaves ${topics[index]}`,
        2 * nodeTimeoutMs,
      );
    }
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(nodeTimeoutMs);
    for (const topic of topics) {
      expect(ids(await presenceOf(b).members(topic))).toEqual(["alice"]);
    }
  });
});
