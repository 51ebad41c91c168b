import {
  type RedisServer,
  type RedisServerOptions,
  startRedisServer,
} from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { createRedisBroker, RedisBrokerErrorCode } from "../src/index.js";
import { type InProcessNode, startingAt, startNode } from "./cluster.js";
import { checkDeliveries } from "./delivery-check.js";
import { range, waitForHealth, within } from "./helpers.js";
import { createRecordingClient, type RecordingClient } from "./recording-client.js";

const disposers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

interface Cluster {
  readonly redis: RedisServer;
  readonly nodes: InProcessNode[];
  readonly clients: RecordingClient[];
}

/** Its own redis-server (this test restarts it), three nodes, two subscribed clients on each. */
async function cluster(topic: string, options: RedisServerOptions): Promise<Cluster> {
  const redis = await startRedisServer(options);
  disposers.push(() => redis.dispose());
  const nodes = await Promise.all(
    ["a", "b", "c"].map((name) => startNode(name, { url: redis.url, keyPrefix: "restart:" })),
  );
  for (const node of nodes) disposers.push(() => node.stop());
  const urls = nodes.map((n) => n.url);
  const clients = nodes.flatMap((_, n) =>
    range(1, 2).map((k) => {
      const c = createRecordingClient({ name: `sub-${n}-${k}`, urls: startingAt(urls, n) });
      disposers.push(() => c.client.close());
      c.subscribe(topic);
      return c;
    }),
  );
  await Promise.all(clients.map((c) => c.subscribed(topic)));
  return { redis, nodes, clients };
}

/** Publishes `count` messages through the nodes in turn, each awaited; returns the last ack. */
async function publishRoundRobin(nodes: readonly InProcessNode[], topic: string, count: number) {
  const acks = [];
  for (let i = 0; i < count; i++) {
    const node = nodes[i % nodes.length] as InProcessNode;
    acks.push(await node.server.publish(topic, { via: node.name, i }));
  }
  return acks;
}

async function healthOf(node: InProcessNode): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${node.httpUrl}/health`);
  return { status: response.status, body: await response.json() };
}

/**
 * While Redis is down (README, "What is guaranteed while Redis is down"): clients stay
 * connected, every node reports unhealthy on /health, and a publish fails to its caller.
 */
async function expectOutage({ nodes, clients }: Cluster, topic: string): Promise<void> {
  await Promise.all(nodes.map((n) => waitForHealth(n.broker, (h) => !h.healthy)));
  for (const node of nodes) {
    expect(await healthOf(node)).toMatchObject({
      status: 503,
      body: { status: "degraded", services: { broker: { healthy: false } } },
    });
  }
  await expect(nodes[0]?.server.publish(topic, "lost?")).rejects.toMatchObject({
    code: RedisBrokerErrorCode.Unavailable,
  });
  // A client's publish is not dropped: the node answers `overloaded`, and the client sends
  // it again with the same id until Redis is back (appended at most once). Given a timeout,
  // the caller is told when it runs out; Redis stays down meanwhile, so nothing is appended.
  await expect(
    clients[0]?.client.publish(topic, "lost?", { timeoutMs: 1500 }),
  ).rejects.toMatchObject({ code: "timeout" });
  for (const c of clients) expect(c.client.status).toBe("open");
}

async function expectRecovered({ nodes }: Cluster): Promise<void> {
  await Promise.all(nodes.map((n) => waitForHealth(n.broker, (h) => h.healthy)));
  for (const node of nodes) {
    expect(await healthOf(node)).toMatchObject({ status: 200, body: { status: "ok" } });
  }
}

type Ack = Awaited<ReturnType<RecordingClient["client"]["publish"]>>;

function keysOf(client: RecordingClient, topic: string): string[] {
  return (client.topic(topic).data as { key: string }[]).map((d) => d.key);
}

/**
 * One publisher client per node publishes `{ key }` messages one after another while
 * Redis is killed and started again; a refused publish (Redis away) waits for its node to
 * be healthy, then the next one goes. Each stops 30 acknowledgements after the recovery.
 * Resolves once every subscribed client has reached the final head.
 */
async function flowThroughRestart(c: Cluster, topic: string) {
  const urls = c.nodes.map((n) => n.url);
  const publishers = c.nodes.map((_, k) => {
    const p = createRecordingClient({ name: `pub-${k}`, urls: startingAt(urls, k) });
    disposers.push(() => p.client.close());
    return p;
  });
  let recovered = false;
  const acked = new Map<string, Ack>();
  const refused: string[] = [];
  const flows = publishers.map(async (pub, k) => {
    const node = c.nodes[k] as InProcessNode;
    let afterRecovery = 0;
    for (let i = 0; i < 2000 && afterRecovery < 30; i++) {
      const key = `${pub.name}/${i}`;
      try {
        acked.set(key, await pub.client.publish(topic, { key }));
        if (recovered) afterRecovery++;
      } catch (error) {
        // The client holds a publish through the outage and resends it with the same id, so
        // none may be refused; a refusal is recorded with its reason for the assertion.
        refused.push(`${key}: ${String(error)}`);
        await waitForHealth(node.broker, (h) => h.healthy, 15_000);
      }
    }
  });

  const watcher = c.clients[0] as RecordingClient;
  await watcher.waiters.until(() => watcher.topic(topic).handled.length >= 30, "30 messages");
  await c.redis.stop();
  await Promise.all(c.nodes.map((n) => waitForHealth(n.broker, (h) => !h.healthy)));
  await c.redis.start();
  await Promise.all(c.nodes.map((n) => waitForHealth(n.broker, (h) => h.healthy)));
  recovered = true;
  await within(Promise.all(flows), "publishers done", 20_000);

  const observer = createRedisBroker({ url: c.redis.url, keyPrefix: "restart:" });
  disposers.push(() => observer.close());
  await within(observer.ready(), "observer ready", 5000);
  const head = await observer.head(topic);
  await Promise.all(c.clients.map((x) => x.reached(topic, head)));
  return { acked, refused, head };
}

describe("Redis restarted under a running cluster", () => {
  it("without persistence: nodes recover and clients continue in a new epoch, each offset once and in order", async () => {
    const topic = "volatile";
    const c = await cluster(topic, {});
    const before = await publishRoundRobin(c.nodes, topic, 20);
    const oldEpoch = before[0]?.epoch ?? "";
    await Promise.all(c.clients.map((x) => x.reached(topic, { epoch: oldEpoch, offset: 20 })));

    await c.redis.stop();
    await expectOutage(c, topic);
    await c.redis.start();
    await expectRecovered(c);

    const after = await publishRoundRobin(c.nodes, topic, 20);
    const newEpoch = after[0]?.epoch ?? "";
    expect(newEpoch).not.toBe(oldEpoch);
    expect(after.map((a) => a.offset)).toEqual(range(1, 20));
    await Promise.all(c.clients.map((x) => x.reached(topic, { epoch: newEpoch, offset: 20 })));

    // History was lost, and each client is told so once; nothing is delivered twice or
    // out of order, and everything appended after the restart arrives.
    const want = {
      count: 40,
      duplicates: [],
      gaps: [],
      outOfOrder: [],
      epochs: [oldEpoch, newEpoch],
      last: { epoch: newEpoch, offset: 20 },
    };
    for (const x of c.clients) {
      expect(checkDeliveries(x.topic(topic).wire), x.name).toMatchObject(want);
      expect(checkDeliveries(x.topic(topic).handled), x.name).toMatchObject(want);
      expect(
        x.gaps.map((g) => g.reason),
        x.name,
      ).toEqual(["epoch_changed"]);
      expect(x.client.stats().duplicatesDropped).toBe(0);
    }
  });

  it("with an fsynced append-only file: nothing is lost, no gap, no duplicate", async () => {
    const topic = "durable";
    const c = await cluster(topic, { appendOnly: true });
    const before = await publishRoundRobin(c.nodes, topic, 20);
    const epoch = before[0]?.epoch ?? "";
    await Promise.all(c.clients.map((x) => x.reached(topic, { epoch, offset: 20 })));

    await c.redis.stop();
    await expectOutage(c, topic);
    await c.redis.start();
    await expectRecovered(c);

    const after = await publishRoundRobin(c.nodes, topic, 20);
    expect(after.map((a) => a.epoch)).toEqual(after.map(() => epoch));
    expect(after.map((a) => a.offset)).toEqual(range(21, 40));
    await Promise.all(c.clients.map((x) => x.reached(topic, { epoch, offset: 40 })));

    const want = {
      count: 40,
      duplicates: [],
      gaps: [],
      outOfOrder: [],
      epochs: [epoch],
      first: { epoch, offset: 1 },
      last: { epoch, offset: 40 },
    };
    for (const x of c.clients) {
      expect(checkDeliveries(x.topic(topic).wire), x.name).toMatchObject(want);
      expect(checkDeliveries(x.topic(topic).handled), x.name).toMatchObject(want);
      expect(x.gaps, x.name).toEqual([]);
      expect(x.client.stats().duplicatesDropped).toBe(0);
    }
  });
  it("with an fsynced append-only file and publishes flowing through the restart: every acknowledged one arrives once, in order", async () => {
    const topic = "flowing";
    const c = await cluster(topic, { appendOnly: true });
    const { acked, refused, head } = await flowThroughRestart(c, topic);
    expect(refused).toEqual([]);
    const want = {
      count: head.offset,
      duplicates: [],
      gaps: [],
      outOfOrder: [],
      epochs: [head.epoch],
      first: { epoch: head.epoch, offset: 1 },
    };
    for (const x of c.clients) {
      expect(checkDeliveries(x.topic(topic).wire), x.name).toMatchObject(want);
      expect(checkDeliveries(x.topic(topic).handled), x.name).toMatchObject(want);
      expect(x.gaps, x.name).toEqual([]);
      const keys = keysOf(x, topic);
      // Every publish was acknowledged: each is there, once, and nothing else is.
      expect(new Set(keys).size, x.name).toBe(keys.length);
      expect(
        [...acked.keys()].filter((k) => !keys.includes(k)),
        x.name,
      ).toEqual([]);
      expect(
        keys.filter((k) => !acked.has(k)),
        x.name,
      ).toEqual([]);
    }
  });

  it("without persistence and publishes flowing through the restart: each epoch in order and at most once, the new one complete", async () => {
    const topic = "flowing-volatile";
    const c = await cluster(topic, {});
    const { acked, refused, head } = await flowThroughRestart(c, topic);
    expect(refused).toEqual([]);
    const newEpochKeys = [...acked].filter(([, ack]) => ack.epoch === head.epoch).map(([k]) => k);
    expect(newEpochKeys.length).toBeGreaterThanOrEqual(90);
    for (const x of c.clients) {
      for (const positions of [x.topic(topic).wire, x.topic(topic).handled]) {
        const report = checkDeliveries(positions);
        expect(report, x.name).toMatchObject({ duplicates: [], gaps: [], outOfOrder: [] });
        expect(report.epochs, x.name).toHaveLength(2);
        expect(report.epochs[1], x.name).toBe(head.epoch);
        // The new epoch arrives whole, from its first offset.
        const fresh = positions.filter((p) => p.epoch === head.epoch).map((p) => p.offset);
        expect(fresh, x.name).toEqual(range(1, head.offset));
      }
      expect(
        x.gaps.map((g) => g.reason),
        x.name,
      ).toEqual(["epoch_changed"]);
      const keys = keysOf(x, topic);
      expect(new Set(keys).size, x.name).toBe(keys.length);
      expect(
        newEpochKeys.filter((k) => !keys.includes(k)),
        x.name,
      ).toEqual([]);
    }
  });
});
