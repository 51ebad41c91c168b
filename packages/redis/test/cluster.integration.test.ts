import type { LifelineClient } from "@lifeline/client";
import { type RedisServer, startRedisServer } from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRedisBroker, type RedisBroker } from "../src/index.js";
import { type ClusterNode, startingAt, startNode, startNodeProcess } from "./cluster.js";
import { expectExactlyOnce } from "./exactly-once.js";
import { range, within } from "./helpers.js";
import { openRawConnection } from "./raw-connection.js";
import { createRecordingClient, type RecordingClient } from "./recording-client.js";

type PublishAck = Awaited<ReturnType<LifelineClient["publish"]>>;

let redis: RedisServer;
const disposers: (() => Promise<void> | void)[] = [];
let prefixSeq = 0;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  await redis?.dispose();
});

afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

/** Nodes of one test share a fresh key prefix: a cluster of their own on the shared Redis. */
function prefix(): string {
  prefixSeq++;
  return `cluster${prefixSeq}:`;
}

function track<T extends ClusterNode>(node: T): T {
  disposers.push(() => node.stop());
  return node;
}

function client(name: string, urls: readonly string[], clientId?: string): RecordingClient {
  const c = createRecordingClient({ name, urls, ...(clientId ? { clientId } : {}) });
  disposers.push(() => c.client.close());
  return c;
}

async function observer(keyPrefix: string): Promise<RedisBroker> {
  const broker = createRedisBroker({ url: redis.url, keyPrefix });
  disposers.push(() => broker.close());
  await within(broker.ready(), "observer broker ready", 5000);
  return broker;
}

describe("three nodes on one Redis", () => {
  it("delivers every message of a topic to every client on every node exactly once and in order", async () => {
    const p = prefix();
    const nodes = await Promise.all(
      ["a", "b", "c"].map(async (name) =>
        track(await startNode(name, { url: redis.url, keyPrefix: p })),
      ),
    );
    const urls = nodes.map((n) => n.url);
    const subscribers = nodes.flatMap((_, n) =>
      range(1, 3).map((k) => client(`sub-${n}-${k}`, startingAt(urls, n))),
    );
    for (const s of subscribers) s.subscribe("orders");
    await Promise.all(subscribers.map((s) => s.subscribed("orders")));

    // Publishers on every node at once: the offsets interleave across nodes.
    const publishers = nodes.map((_, n) => client(`pub-${n}`, startingAt(urls, n)));
    const acks = (
      await Promise.all(
        publishers.map((pub) =>
          Promise.all(
            range(1, 100).map((i) => pub.client.publish("orders", { from: pub.name, i })),
          ),
        ),
      )
    ).flat();
    const epoch = acks[0]?.epoch ?? "";
    expect(new Set(acks.map((a) => a.epoch))).toEqual(new Set([epoch]));
    expect(acks.map((a) => a.offset).sort((x, y) => x - y)).toEqual(range(1, 300));

    await Promise.all(subscribers.map((s) => s.reached("orders", { epoch, offset: 300 })));
    expectExactlyOnce(subscribers, "orders", epoch, 300);
    // Each subscriber sees the same sequence: one total order across the cluster.
    const reference = subscribers[0]?.topic("orders").data;
    for (const s of subscribers) expect(s.topic("orders").data).toEqual(reference);
    for (const [n, s] of subscribers.entries()) {
      expect(s.connectedTo).toEqual([nodes[Math.floor(n / 3)]?.url]);
    }
  });

  it("fails the clients of a node killed with SIGKILL over to the others with no gap and no duplicate", async () => {
    const p = prefix();
    // Only the victim needs a process of its own; the others run in this one.
    const victim = track(await startNodeProcess("a", { REDIS_URL: redis.url, KEY_PREFIX: p }));
    const nodes: ClusterNode[] = [
      victim,
      ...(await Promise.all(
        ["b", "c"].map(async (name) =>
          track(await startNode(name, { url: redis.url, keyPrefix: p })),
        ),
      )),
    ];
    const urls = nodes.map((n) => n.url);
    const subscribers = nodes.flatMap((_, n) =>
      range(1, 3).map((k) => client(`sub-${n}-${k}`, startingAt(urls, n))),
    );
    for (const s of subscribers) s.subscribe("flow");
    await Promise.all(subscribers.map((s) => s.subscribed("flow")));

    // One publisher per node, the victim's included, each with several publishes in flight:
    // its unacknowledged publishes are sent again, same ids, on the node it fails over to,
    // and must be appended once each and in the order they were published.
    const publishers = nodes.map((_, n) => client(`pub-${n}`, startingAt(urls, n)));
    const inFlight = 8;
    const issued = new Map<string, number>();
    const stopAt = new Map<string, number>();
    const flows = publishers.map(async (pub) => {
      const acks: PublishAck[] = [];
      const lane = async () => {
        for (let n = 0; n < 5000; n++) {
          const i = issued.get(pub.name) ?? 0;
          const limit = stopAt.get(pub.name);
          if (limit !== undefined && i >= limit) return;
          issued.set(pub.name, i + 1);
          acks[i] = await pub.client.publish("flow", { from: pub.name, i });
        }
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      return acks;
    });

    const watcher = subscribers[3] as RecordingClient;
    await watcher.waiters.until(
      () => watcher.topic("flow").handled.length >= 150,
      "150 messages before the kill",
    );
    await victim.stop("SIGKILL");
    const atKill = watcher.topic("flow").handled.length;
    for (const pub of publishers) stopAt.set(pub.name, (issued.get(pub.name) ?? 0) + 100);
    const perPublisher = await within(Promise.all(flows), "publishers done", 20_000);

    // Every publish was appended exactly once: as many offsets as publishes, no two alike,
    // and Redis holds exactly that many.
    const acks = perPublisher.flat();
    const epoch = acks[0]?.epoch ?? "";
    const total = acks.length;
    expect(total).toBeGreaterThanOrEqual(atKill + 300);
    expect(acks.map((a) => a.offset).sort((x, y) => x - y)).toEqual(range(1, total));
    expect(await (await observer(p)).head("flow")).toEqual({ offset: total, epoch });

    await Promise.all(subscribers.map((s) => s.reached("flow", { epoch, offset: total }, 15_000)));
    expectExactlyOnce(subscribers, "flow", epoch, total);
    for (const s of subscribers) {
      const data = s.topic("flow").data as { from: string; i: number }[];
      for (const [k, pub] of publishers.entries()) {
        const mine = data.filter((d) => d.from === pub.name).map((d) => d.i);
        expect(mine, `${s.name} from ${pub.name}`).toEqual(
          range(0, (perPublisher[k]?.length ?? 0) - 1),
        );
      }
    }
    // The victim's publisher had a publish in flight when it died and sent it again.
    const victimPublisher = publishers[0] as RecordingClient;
    expect(victimPublisher.client.stats().sent.publish).toBeGreaterThan(
      issued.get(victimPublisher.name) ?? 0,
    );
    // The victim's clients moved to another node; the others stayed where they were.
    for (const s of [...subscribers.slice(0, 3), publishers[0] as RecordingClient]) {
      expect(s.connectedTo[0]).toBe(victim.url);
      expect(s.connectedTo.length).toBeGreaterThanOrEqual(2);
      expect(s.connectedTo.at(-1)).not.toBe(victim.url);
    }
    for (const s of subscribers.slice(3)) expect(s.connectedTo).toHaveLength(1);
  });
});

describe("idempotent publishes across nodes", () => {
  it("appends a publish retried through another node once and acknowledges both alike", async () => {
    const p = prefix();
    const [a, b, c] = await Promise.all(
      ["a", "b", "c"].map(async (name) =>
        track(await startNode(name, { url: redis.url, keyPrefix: p })),
      ),
    );
    if (!a || !b || !c) throw new Error("three nodes expected");
    const watcher = client("watcher", [c.url]);
    watcher.subscribe("jobs");
    await watcher.subscribed("jobs");

    // Through A, then the same client_id and id again through B (A's ack was "lost").
    const onA = await openRawConnection(disposers, a.url, "worker-7");
    const first = await onA.publish("job-1", "jobs", { n: 1 });
    await onA.close();
    const onB = await openRawConnection(disposers, b.url, "worker-7");
    const retried = await onB.publish("job-1", "jobs", { n: 1 });
    expect(first).toMatchObject({ ok: true, result: { offset: 1 } });
    expect(retried).toEqual(first);

    // The same id sent through A and B at the same time: still one append.
    const [onA2, onB2] = await Promise.all([
      openRawConnection(disposers, a.url, "worker-8"),
      openRawConnection(disposers, b.url, "worker-8"),
    ]);
    const both = await Promise.all([
      onA2.publish("job-2", "jobs", { n: 2 }),
      onB2.publish("job-2", "jobs", { n: 2 }),
    ]);
    expect(both[0]).toMatchObject({ ok: true, result: { offset: 2 } });
    expect(both[1]).toEqual(both[0]);

    // The id is scoped by client_id: another client's "job-1" is a new message.
    const other = await openRawConnection(disposers, c.url, "worker-9");
    expect(await other.publish("job-1", "jobs", { n: 3 })).toMatchObject({
      ok: true,
      result: { offset: 3 },
    });

    const epoch = first.result?.epoch ?? "";
    const history = await (await observer(p)).readSince("jobs", 0, epoch);
    expect(history.entries.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await watcher.reached("jobs", { epoch, offset: 3 });
    expectExactlyOnce([watcher], "jobs", epoch, 3);
  });
});
