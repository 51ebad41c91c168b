import { createRedisBroker, type RedisBroker, type RedisBrokerOptions } from "@lifeline/redis";
import { createServer, type LifelineServer } from "@lifeline/server";
import {
  countdown,
  QUICK_CLOSE,
  type RedisCluster,
  redisClusterAvailability,
  skipWithout,
  startRedisCluster,
  within,
} from "@lifeline/test-support";
import { Cluster } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expectClean } from "./support/expect-clean.js";
import { publishLoop, publishMarkers, quietClient, startFleet } from "./support/fleet.js";
import { History, summarize } from "./support/history.js";

// A Redis Cluster of three masters with two replicas each, two Lifeline nodes on it and
// 200 clients publishing and subscribing; one master is SIGKILLed and the cluster promotes
// one of its replicas. Two replicas, so the promoted master still has one for
// `waitForReplication` to wait for: with one, every append to its slots would be refused
// until a replica is back (the availability cost of the guarantee).

const CLIENTS = 200;
const TOPICS = 6;
const PUBLISHES_PER_CLIENT = 10;

const skip = skipWithout("Redis Cluster (redis-server, redis-cli)", redisClusterAvailability());
let redisCluster: RedisCluster;
let template: Cluster;
const disposers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  if (skip) return;
  redisCluster = await startRedisCluster({ replicasPerMaster: 2, nodeTimeoutMs: 1000 });
  template = new Cluster([...redisCluster.startupNodes], { lazyConnect: true });
});
afterAll(async () => {
  template?.disconnect();
  await redisCluster?.dispose();
});
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

interface LifelineNode {
  readonly url: string;
  readonly server: LifelineServer;
  readonly broker: RedisBroker;
}

async function startNode(extra: Partial<RedisBrokerOptions>): Promise<LifelineNode> {
  const broker = createRedisBroker({
    cluster: template,
    commandTimeoutMs: 2000,
    pingIntervalMs: 200,
    pingTimeoutMs: 500,
    ...extra,
  });
  disposers.push(() => broker.close());
  await within(broker.ready(), "broker ready", 10_000);
  const server = await createServer({
    port: 0,
    host: "127.0.0.1",
    broker,
    logger: false,
    authorize: () => true,
    limits: { maxConnectionsPerIp: 100_000 },
  });
  disposers.push(() => server.close(QUICK_CLOSE));
  return { url: `ws://127.0.0.1:${server.port}/ws`, server, broker };
}

/**
 * Runs the fleet through the SIGKILL of the master serving topic 0 (topics 1..5 fall where
 * their slots are: some on the same master, the others elsewhere) and returns the history,
 * the cluster's fail-over time (kill until another master serves the slot) and the time
 * until an append to that slot is acknowledged again.
 */
async function runThroughFailover(keyPrefix: string, extra: Partial<RedisBrokerOptions>) {
  const topicName = (i: number) => `cluster/${i % TOPICS}`;
  const [a, b] = [
    await startNode({ keyPrefix, ...extra }),
    await startNode({ keyPrefix, ...extra }),
  ];
  if (a === undefined || b === undefined) throw new Error("two nodes expected");
  const history = new History();
  const fleet = startFleet({
    url: a.url,
    urlOf: (i) => (i % 2 === 0 ? [a.url, b.url] : [b.url, a.url]),
    count: CLIENTS,
    prefix: "cluster",
    topicsOf: (i) => [topicName(i)],
    history,
  });
  const observer = quietClient({ url: b.url, clientId: "cluster-observer" });
  disposers.push(() => {
    fleet.close();
    observer.close();
  });
  await fleet.whenAllLive(30_000);
  await publishMarkers(fleet, observer, history, "start", 30_000);

  const victimKey = `${keyPrefix}{${topicName(0)}}:meta`;
  const victim = await redisCluster.masterOf(victimKey);
  const total = CLIENTS * PUBLISHES_PER_CLIENT;
  const killPoint = countdown(Math.floor(total * 0.35));
  const loops = fleet.members.map((m, i) =>
    publishLoop(m.client, m.name, topicName(i + 1), PUBLISHES_PER_CLIENT, history, () =>
      killPoint.hit(),
    ),
  );
  await within(killPoint.reached, "35% of publishes acknowledged", 60_000);
  const killedAt = performance.now();
  await victim.kill();
  const promoted = await redisCluster.waitForFailover(victimKey, victim.port, 30_000);
  const failoverMs = performance.now() - killedAt;
  // Probes on topic 0 itself (only its own topic is surely on the victim's slot), through
  // node a's broker; the fleet sees them as deliveries of no recorded publish.
  const appendsBackMs = await firstAppendAfter(a.broker, topicName(0), killedAt);
  await within(Promise.all(loops), "every publish loop to finish", 90_000);
  await fleet.whenAllLive(60_000);
  await publishMarkers(fleet, observer, history, "end", 30_000);
  return { history, failoverMs, appendsBackMs, victim: victim.address, promoted: promoted.address };
}

/**
 * Milliseconds from `since` until `broker` acknowledges an append to `topic`, trying every
 * 20 ms for up to 30 s. The data carries no uid: the history check ignores such deliveries.
 */
async function firstAppendAfter(broker: RedisBroker, topic: string, since: number) {
  for (let attempt = 0; attempt < 1500; attempt++) {
    try {
      await broker.append(topic, { probe: attempt });
      return performance.now() - since;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`no append to ${topic} acknowledged within 30 s of the kill`);
}

describe.skipIf(skip)("a Redis Cluster master SIGKILLed under 200 clients", () => {
  it("with waitForReplication, loses, duplicates and reorders no acknowledged publish", async () => {
    const run = await runThroughFailover("clusterwait:", {
      waitForReplication: { replicas: 1, timeoutMs: 1000 },
    });
    const report = expectClean(
      run.history,
      `redis cluster fail-over, waitForReplication: master ${run.victim} -> ${run.promoted} in ${Math.round(run.failoverMs)} ms, appends back after ${Math.round(run.appendsBackMs)} ms`,
    );
    expect(report.checked).toBeGreaterThanOrEqual(CLIENTS * PUBLISHES_PER_CLIENT);
    expect(report.lostWithGap).toBe(0);
    expect(report.gapEvents).toBe(0);
  });

  it("without waitForReplication, announces every loss as a gap and never loses one silently", async () => {
    const run = await runThroughFailover("clusternowait:", {});
    const report = run.history.check();
    console.info(
      `[chaos] redis cluster fail-over, no waitForReplication: master ${run.victim} -> ${run.promoted} in ${Math.round(run.failoverMs)} ms, appends back after ${Math.round(run.appendsBackMs)} ms\n${summarize(report)}`,
    );
    expect(report.unacknowledged).toBe(0);
    expect(report.checked).toBeGreaterThanOrEqual(CLIENTS * PUBLISHES_PER_CLIENT);
    expect(report.lost).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.outOfOrder).toBe(0);
    // A publish in flight at the kill may be appended on the old master, delivered, then
    // retried and appended again in the new epoch: never twice within one epoch.
    expect(report.doubleAppendedInEpoch).toBe(0);
    expect(report.conflicting).toBe(0);
    expect(report.publisherOrder).toBe(0);
    // The promoted replica starts a new epoch on the victim's topics: each subscriber of
    // one is told, whether or not an acknowledged append was actually lost.
    expect(report.gapEvents).toBeGreaterThan(0);
  });
});
