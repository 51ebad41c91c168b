import type { MessageMeta } from "@lifeline/client";
import {
  createDisposer,
  type RedisCluster,
  redisClusterAvailability,
  skipWithout,
  startRedisCluster,
} from "@lifeline/test-support";
import { Cluster, Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { keySlot } from "../src/cluster/slots.js";
import {
  createLease,
  createRedisBroker,
  RedisBrokerErrorCode,
  type RedisBrokerOptions,
} from "../src/index.js";
import { quietClient } from "./broker-matrix.js";
import { type InProcessNode, startingAt, startNode } from "./cluster.js";
import { expectExactlyOnce } from "./exactly-once.js";
import { range, within } from "./helpers.js";
import { openRawConnection } from "./raw-connection.js";
import { createRecordingClient, type RecordingClient } from "./recording-client.js";

// Lifeline nodes on a Redis Cluster of three masters, each with a replica, started once for
// the file (a cluster takes seconds to form); each test has its own key prefix.

let redisCluster: RedisCluster;
/** The template every broker duplicates; it never connects itself. */
let template: Cluster;
const disposers: (() => Promise<void> | void)[] = [];
const disposer = createDisposer();
let prefixSeq = 0;

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
  await disposer.run();
});

function prefix(): string {
  prefixSeq++;
  return `rc${prefixSeq}:`;
}

function options(keyPrefix: string, extra: Partial<RedisBrokerOptions> = {}): RedisBrokerOptions {
  return { cluster: template, keyPrefix, ...extra };
}

async function nodes(keyPrefix: string, count: number): Promise<InProcessNode[]> {
  const started = await Promise.all(
    ["a", "b", "c"].slice(0, count).map((name) => startNode(name, options(keyPrefix))),
  );
  for (const node of started) disposers.push(() => node.stop());
  return started;
}

function client(name: string, urls: readonly string[]): RecordingClient {
  const c = createRecordingClient({ name, urls });
  disposers.push(() => c.client.close());
  return c;
}

/** One topic per master: the topic is its keys' hash tag, so it picks the slot. */
async function topicPerMaster(keyPrefix: string): Promise<string[]> {
  const byMaster = new Map<number, string>();
  for (let i = 0; i < 64 && byMaster.size < 3; i++) {
    const topic = `t${i}`;
    const master = await redisCluster.masterOf(`${keyPrefix}{${topic}}:meta`);
    if (!byMaster.has(master.port)) byMaster.set(master.port, topic);
  }
  expect(byMaster.size).toBe(3);
  return [...byMaster.values()];
}

/** A plain connection to one cluster node, for PUBSUB introspection. */
function nodeClient(port: number): Redis {
  const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true });
  disposers.push(() => redis.disconnect());
  return redis;
}

describe.skipIf(skip)("Lifeline nodes on a Redis Cluster", () => {
  it("delivers each topic, whichever master serves it, to clients of every node exactly once and in order, by sharded pub/sub", async () => {
    const p = prefix();
    const cluster = await nodes(p, 3);
    const topics = await topicPerMaster(p);
    const urls = cluster.map((n) => n.url);
    const subscribers = cluster.flatMap((_, n) =>
      [1, 2].map((k) => client(`sub-${n}-${k}`, startingAt(urls, n))),
    );
    for (const s of subscribers) for (const topic of topics) s.subscribe(topic);
    await Promise.all(subscribers.flatMap((s) => topics.map((t) => s.subscribed(t))));

    const publishers = cluster.map((_, n) => client(`pub-${n}`, startingAt(urls, n)));
    const acks = await Promise.all(
      topics.map(async (topic) =>
        (
          await Promise.all(
            publishers.map((pub) =>
              Promise.all(range(1, 40).map((i) => pub.client.publish(topic, { i }))),
            ),
          )
        ).flat(),
      ),
    );
    for (const [t, topic] of topics.entries()) {
      const topicAcks = acks[t] ?? [];
      const epoch = topicAcks[0]?.epoch ?? "";
      expect(topicAcks.map((a) => a.offset).sort((x, y) => x - y)).toEqual(range(1, 120));
      await Promise.all(subscribers.map((s) => s.reached(topic, { epoch, offset: 120 })));
      expectExactlyOnce(subscribers, topic, epoch, 120);

      // Live entries went by SPUBLISH to the master of the topic's slot, where the three
      // nodes hold an SSUBSCRIBE; nothing was broadcast with PUBLISH.
      const master = await redisCluster.masterOf(`${p}{${topic}}:meta`);
      const redis = nodeClient(master.port);
      expect(await redis.call("PUBSUB", "SHARDNUMSUB", `${p}{${topic}}:live`)).toEqual([
        `${p}{${topic}}:live`,
        3,
      ]);
      expect(await redis.call("PUBSUB", "CHANNELS", `${p}*`)).toEqual([]);
    }
  });

  it("names the cluster's masters as the ones it talks to", async () => {
    const p = prefix();
    const [node] = await nodes(p, 1);
    const masters = await Promise.all(
      (await topicPerMaster(p)).map(async (t) => (await redisCluster.masterOf(`{${t}}`)).address),
    );
    const named = new Set(node?.broker.masters());
    for (const master of masters) expect(named.has(master), master).toBe(true);
    expect(named.size).toBe(3);
  });

  it("resumes a client on another node with no gap and no duplicate when its node closes", async () => {
    const p = prefix();
    const [a, b] = await nodes(p, 2);
    if (a === undefined || b === undefined) throw new Error("two nodes expected");
    const [topic] = await topicPerMaster(p);
    if (topic === undefined) throw new Error("a topic expected");
    const subscriber = client("sub", [a.url, b.url]);
    subscriber.subscribe(topic);
    await subscriber.subscribed(topic);
    const publisher = client("pub", [b.url]);
    for (const i of range(1, 20)) await publisher.client.publish(topic, { i });
    await subscriber.reached(topic, {
      epoch: subscriber.topic(topic).wire[0]?.epoch ?? "",
      offset: 20,
    });

    // Publishes continue while the subscriber's node closes and it moves to b.
    const closing = a.stop();
    const later = Promise.all(range(21, 40).map((i) => publisher.client.publish(topic, { i })));
    await closing;
    const acks = await later;
    const epoch = acks[0]?.epoch ?? "";
    await subscriber.reached(topic, { epoch, offset: 40 }, 15_000);
    expectExactlyOnce([subscriber], topic, epoch, 40);
    expect(subscriber.connectedTo).toEqual([a.url, b.url]);
  });

  it("serves history pages and rewinds from Redis on any node", async () => {
    const p = prefix();
    const [a, , c] = await nodes(p, 3);
    if (a === undefined || c === undefined) throw new Error("three nodes expected");
    for (const topic of await topicPerMaster(p)) {
      for (const i of range(1, 30)) await a.server.publish(topic, { i });
      const reader = quietClient(disposer, c.server, `reader-${topic}`);
      // Newest first, by default.
      const page = await reader.history(topic, { limit: 10 });
      expect(page.head).toBe(30);
      expect(page.messages.map((m) => m.offset)).toEqual(range(21, 30).reverse());
      expect(page.messages.map((m) => m.data)).toEqual(
        range(21, 30)
          .map((i) => ({ i }))
          .reverse(),
      );

      const got: MessageMeta[] = [];
      const arrived = new Map<number, () => void>();
      const reached = (offset: number) =>
        within(
          new Promise<void>((resolve) => {
            if (got.some((m) => m.offset === offset)) resolve();
            else arrived.set(offset, resolve);
          }),
          `offset ${offset} of ${topic}`,
        );
      reader.subscribe(
        topic,
        (_data, meta) => {
          got.push(meta);
          arrived.get(meta.offset)?.();
        },
        { rewind: 5 },
      );
      await reached(30);
      await a.server.publish(topic, { i: 31 });
      await reached(31);
      expect(got.map((m) => m.offset)).toEqual(range(26, 31));
    }
  });

  it("appends a publish retried through another node once and acknowledges both alike", async () => {
    const p = prefix();
    const [a, b] = await nodes(p, 2);
    if (a === undefined || b === undefined) throw new Error("two nodes expected");
    const topics = await topicPerMaster(p);
    for (const [k, topic] of topics.entries()) {
      const onA = await openRawConnection(disposers, a.url, `worker-${k}`);
      const first = await onA.publish("job-1", topic, { n: 1 });
      const onB = await openRawConnection(disposers, b.url, `worker-${k}`);
      const retried = await onB.publish("job-1", topic, { n: 1 });
      expect(first).toMatchObject({ ok: true, result: { offset: 1 } });
      expect(retried).toEqual(first);
      const history = await a.broker.readSince(topic, 0, first.result?.epoch);
      expect(history.entries.map((e) => e.data)).toEqual([{ n: 1 }]);
    }
  });

  it("with waitForReplication, acknowledges once the slot's replica has the append, and never an append it lacks", async () => {
    const p = prefix();
    const [topic] = await topicPerMaster(p);
    if (topic === undefined) throw new Error("a topic expected");
    const replicated = createRedisBroker(options(p, { waitForReplication: { replicas: 1 } }));
    disposers.push(() => replicated.close());
    await within(replicated.ready(), "broker ready");
    expect(await replicated.append(topic, { n: 1 }, { dedupeKey: "k1" })).toMatchObject({
      offset: 1,
      duplicate: false,
    });
    // Each master has one replica: two can never confirm.
    const greedy = createRedisBroker(
      options(p, { waitForReplication: { replicas: 2, timeoutMs: 100 } }),
    );
    disposers.push(() => greedy.close());
    await within(greedy.ready(), "broker ready");
    await expect(greedy.append(topic, { n: 2 }, { dedupeKey: "k2" })).rejects.toMatchObject({
      code: RedisBrokerErrorCode.OutcomeUnknown,
    });
  });

  it("holds a lease on the cluster, one holder at a time", async () => {
    const p = prefix();
    const candidates = [0, 1].map(() => {
      const cluster = new Cluster([...redisCluster.startupNodes]);
      disposers.push(() => cluster.disconnect());
      let gained = () => {};
      const held = new Promise<void>((resolve) => {
        gained = resolve;
      });
      const lease = createLease({
        redis: cluster,
        name: "job",
        keyPrefix: p,
        ttlMs: 3000,
        onChange: (h) => h && gained(),
      });
      disposers.push(() => lease.close());
      return { lease, held };
    });
    const [first] = await within(
      Promise.race(candidates.map((c) => c.held.then(() => [c]))),
      "a holder",
    );
    expect(candidates.filter((c) => c.lease.held)).toEqual([first]);
    await first?.lease.close();
    const other = candidates.find((c) => c !== first);
    await within(other?.held ?? Promise.reject(new Error("no other")), "the other takes over");
    expect(other?.lease.held).toBe(true);
  });

  it("computes the hash slot of a key as Redis does, hash tags included", async () => {
    const keys = ["orders", "lifeline:{orders}:meta", "a{}b", "{}{x}", "a{b", "x}{y}", "télé/μ:ß"];
    const redis = nodeClient(redisCluster.startupNodes[0]?.port ?? 0);
    for (const key of keys) {
      expect(keySlot(key), key).toBe(await redis.call("CLUSTER", "KEYSLOT", key));
    }
  });

  it("refuses a key prefix with a brace, which would replace the topic as hash tag", () => {
    expect(() => createRedisBroker(options("app{1}:"))).toThrow(
      expect.objectContaining({ code: RedisBrokerErrorCode.InvalidOptions }),
    );
  });
});
