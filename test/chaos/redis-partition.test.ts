import type { LifelineClient } from "@lifeline/client";
import {
  countdown,
  type RedisServer,
  skipWithout,
  startRedisServer,
  upgradeStatus,
  within,
} from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expectClean } from "./support/expect-clean.js";
import { publishLoop, publishMarkers, quietClient, startFleet } from "./support/fleet.js";
import { History } from "./support/history.js";
import { createNetns, type Netns, netnsSupport } from "./support/netns.js";
import { type ServerProcess, startServerProcess } from "./support/processes.js";

// One Lifeline node cut off from Redis by nft rules in its network namespace, while its
// clients can still reach it (the server README, "Broker outage"): the node must stop
// serving rather than hold clients it can deliver nothing to, and its clients must resume
// on the other node with nothing lost.

// Off CI a machine without root or the tools skips this test; under CI=true it fails it.
const support = netnsSupport();
const skip = skipWithout("network namespaces", support);

const CLIENTS = 60;
const TOPICS = 4;
const PUBLISHES_PER_CLIENT = 10;
const CLOSE_AFTER_MS = 1000;
const PING = { pingIntervalMs: 200, pingTimeoutMs: 500, commandTimeoutMs: 1000 };
const topicName = (i: number) => `chaos/partition/${i % TOPICS}`;

let ns: Netns | undefined;
const disposers: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  if (support.ok) ns = createNetns(`p${process.pid % 10_000}`, ((process.pid + 100) % 200) + 20);
});
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
  ns?.clearFilters();
});
afterAll(() => {
  ns?.destroy();
});

async function health(node: ServerProcess): Promise<number> {
  const response = await fetch(`http://${node.host}:${node.port}/health`);
  await response.body?.cancel();
  return response.status;
}

/** Polls `/health` every 100 ms until it answers `status`; bounded by `timeoutMs`. */
async function healthBecomes(node: ServerProcess, status: number, timeoutMs: number) {
  const attempts = Math.ceil(timeoutMs / 100);
  for (let i = 0; i < attempts; i++) {
    if ((await health(node).catch(() => 0)) === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/health of ${node.url} did not answer ${status} within ${timeoutMs} ms`);
}

/** Node A in the namespace, reaching Redis over the veth pair; node B on the host. */
async function startNodes(
  netns: Netns,
  redis: RedisServer,
): Promise<[ServerProcess, ServerProcess]> {
  const options = {
    limits: { maxConnectionsPerIp: 100_000, maxConnections: 100_000 },
    brokerOutage: { closeAfterMs: CLOSE_AFTER_MS },
  };
  const nodes = await Promise.all([
    startServerProcess({
      netns: netns.name,
      host: "0.0.0.0",
      connectHost: netns.primary,
      redisUrl: `redis://${netns.host}:${redis.port}`,
      broker: PING,
      keyPrefix: "partition:",
      options,
    }),
    startServerProcess({ redisUrl: redis.url, broker: PING, keyPrefix: "partition:", options }),
  ]);
  for (const node of nodes) disposers.push(() => node.dispose());
  return nodes;
}

describe.skipIf(skip)("a Lifeline node partitioned from Redis (nft in its namespace)", () => {
  it("stops serving, and its clients resume on the other node with no gap, loss, duplicate or reordering", async () => {
    const netns = ns as Netns;
    const redis: RedisServer = await startRedisServer({ alsoBind: [netns.host] });
    disposers.push(() => redis.dispose());
    const [a, b] = await startNodes(netns, redis);
    const history = new History();
    // Even clients start on the node that will be cut off, odd ones on the other.
    const fleet = startFleet({
      url: a.url,
      urlOf: (i) => (i % 2 === 0 ? [a.url, b.url] : [b.url, a.url]),
      count: CLIENTS,
      prefix: "partition",
      topicsOf: (i) => [topicName(i)],
      history,
    });
    const observer: LifelineClient = quietClient({
      url: b.url,
      clientId: "partition-observer",
    });
    disposers.push(() => {
      fleet.close();
      observer.close();
    });
    await fleet.whenAllLive(30_000);
    // Markers published on B reach A's subscribers: both nodes deliver through Redis.
    await publishMarkers(fleet, observer, history, "start", 30_000);
    expect((await a.loopDelay()).connections).toBe(CLIENTS / 2);

    const onA = new Set(fleet.members.filter((_, i) => i % 2 === 0).map((m) => m.name));
    const leftA = countdown(onA.size);
    a.onEvent((event) => {
      if (event.type === "disconnect" && onA.delete(event.client_id)) leftA.hit();
    });
    const total = CLIENTS * PUBLISHES_PER_CLIENT;
    const cutPoint = countdown(Math.floor(total * 0.35));
    const loops = fleet.members.map((m, i) =>
      publishLoop(m.client, m.name, topicName(i + 1), PUBLISHES_PER_CLIENT, history, () =>
        cutPoint.hit(),
      ),
    );
    await within(cutPoint.reached, "35% of publishes acknowledged", 60_000);
    const cutAt = Date.now();
    netns.cutOffFrom(netns.host, redis.port);

    // The node notices (PING), waits closeAfterMs, then closes every client it has.
    await within(leftA.reached, "node A to close every client", 15_000);
    const closedMs = Date.now() - cutAt;
    expect(await health(a)).toBe(503);
    expect(await upgradeStatus(`${a.url}?client_id=late&version=1&role=test`)).toBe(503);
    expect(await health(b)).toBe(200);

    await within(Promise.all(loops), "every publish loop to finish", 90_000);
    await fleet.whenAllLive(60_000);
    const movedMs = Date.now() - cutAt;
    expect((await a.loopDelay()).connections).toBe(0);
    expect((await b.loopDelay()).connections).toBe(CLIENTS + 1);
    await publishMarkers(fleet, observer, history, "end", 30_000);
    console.info(
      `[chaos] partition: clients=${CLIENTS} node A closed its ${CLIENTS / 2} clients ${closedMs} ms after the cut (closeAfterMs ${CLOSE_AFTER_MS}), all live on B ${movedMs} ms after it`,
    );
    const report = expectClean(history, "partition of one node from Redis");
    expect(report.acknowledged).toBe(total + 2 * TOPICS);
    expect(report.gapEvents).toBe(0);
    expect(fleet.members.filter((_, i) => i % 2 === 0).every((m) => m.opens >= 2)).toBe(true);

    // Healed: the node serves again by itself.
    netns.clearFilters();
    await healthBecomes(a, 200, 15_000);
    expect(await upgradeStatus(`${a.url}?client_id=back&version=1&role=test`)).toBe(101);
  });
});
