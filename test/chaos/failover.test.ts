import { countdown, startRedisServer, within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { publishLoop, publishMarkers, quietClient, startFleet } from "./support/fleet.js";
import { History, summarize } from "./support/history.js";
import { startServerProcess } from "./support/processes.js";

// docs/reliability.md, "Faults", scale-out: two server nodes share topics through Redis. One node is
// killed for good under traffic; its clients move to the other node (the client rotates
// its URL list after a failed attempt) and resume there from Redis's history.

const CLIENTS = 120;
const TOPICS = 6;
const PUBLISHES_PER_CLIENT = 10;
const topicName = (i: number) => `chaos/failover/${i % TOPICS}`;

const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

describe("node failover with the Redis broker", () => {
  it("moves the clients of a SIGKILLed node to the other node with nothing lost, duplicated or reordered", async () => {
    const redis = await startRedisServer();
    disposers.push(() => redis.dispose());
    const options = { limits: { maxConnectionsPerIp: 100_000 } };
    const [a, b] = await Promise.all([
      startServerProcess({ redisUrl: redis.url, keyPrefix: "failover:", options }),
      startServerProcess({ redisUrl: redis.url, keyPrefix: "failover:", options }),
    ]);
    disposers.push(
      () => a.dispose(),
      () => b.dispose(),
    );

    const history = new History();
    // Half start on node A, half on node B; each rotates to the other on failure.
    const fleet = startFleet({
      url: a.url,
      urlOf: (i) => (i % 2 === 0 ? [a.url, b.url] : [b.url, a.url]),
      count: CLIENTS,
      prefix: "failover",
      topicsOf: (i) => [topicName(i)],
      history,
    });
    const observer = quietClient({
      url: b.url,
      clientId: "failover-observer",
    });
    disposers.push(() => {
      fleet.close();
      observer.close();
    });
    await fleet.whenAllLive(30_000);
    // A marker published on node B reaches subscribers on node A: fan-out crosses nodes.
    await publishMarkers(fleet, observer, history, "start", 30_000);

    const total = CLIENTS * PUBLISHES_PER_CLIENT;
    const killPoint = countdown(Math.floor(total * 0.35));
    const loops = fleet.members.map((m, i) =>
      publishLoop(m.client, m.name, topicName(i + 1), PUBLISHES_PER_CLIENT, history, () =>
        killPoint.hit(),
      ),
    );
    await within(killPoint.reached, "35% of publishes acknowledged", 60_000);
    const killedAt = Date.now();
    await a.kill();
    await within(Promise.all(loops), "every publish loop to finish", 90_000);
    await fleet.whenAllLive(60_000);
    const movedMs = Date.now() - killedAt;
    await publishMarkers(fleet, observer, history, "end", 30_000);

    const report = history.check();
    const onB = (await b.loopDelay()).connections;
    console.info(
      `[chaos] failover: clients=${CLIENTS} all_on_node_b_ms=${movedMs} connections_on_b=${onB}\n${summarize(report)}`,
    );
    expect(onB).toBe(CLIENTS + 1);
    expect(report.unacknowledged).toBe(0);
    expect(report.checked).toBeGreaterThanOrEqual(total);
    expect(report.lost).toBe(0);
    expect(report.lostWithGap).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.outOfOrder).toBe(0);
    expect(report.doubleAppended).toBe(0);
    expect(report.conflicting).toBe(0);
    expect(report.gapEvents).toBe(0);
  });
});
