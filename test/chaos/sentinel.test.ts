import { exponential } from "@lifeline/backoff";
import type { LifelineClient } from "@lifeline/client";
import {
  countdown,
  redisSentinelAvailability,
  type SentinelGroup,
  skipWithout,
  startSentinelGroup,
  within,
} from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { expectClean } from "./support/expect-clean.js";
import {
  type Fleet,
  publishLoop,
  publishMarkers,
  quietClient,
  startFleet,
} from "./support/fleet.js";
import { History, type HistoryReport, summarize } from "./support/history.js";
import { type ServerProcess, startServerProcess } from "./support/processes.js";

// Redis Sentinel under 200 publishing clients on two Lifeline nodes (packages/redis README,
// "Deployment"): the master is SIGKILLed, Sentinel promotes the replica, both nodes follow.
// With waitForReplication nothing acknowledged may be lost; without it every loss must be
// announced to subscribers as a gap.

// Off CI a machine without redis-sentinel skips these tests; under CI=true it fails them.
const skip = skipWithout("redis-sentinel", redisSentinelAvailability());

const CLIENTS = 200;
const TOPICS = 8;
const PUBLISHES_PER_CLIENT = 10;
/** The kill comes once this share of all publishes is acknowledged. */
const KILL_AT = 0.35;
/** Sentinel's down-after-milliseconds: small, so the run stays short. */
const DOWN_AFTER_MS = 1000;
const topicName = (i: number) => `chaos/sentinel/${i % TOPICS}`;
/**
 * Publishes refused during the fail-over are sent again within half a second, so the time
 * until every client receives again measures the nodes, not the clients' retry policy.
 */
const fastRetry = exponential({ baseMs: 100, capMs: 500, jitter: "equal" });

const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

interface RunResult {
  readonly history: History;
  readonly fleet: Fleet;
  /** SIGKILL of the master until every Sentinel names the promoted replica. */
  readonly failoverMs: number;
  /** SIGKILL until every client received a message again after the fail-over. */
  readonly backMs: number;
  readonly report: HistoryReport;
}

async function startNodes(
  group: SentinelGroup,
  waitForReplication: boolean,
): Promise<[ServerProcess, ServerProcess]> {
  const broker = {
    sentinel: { sentinels: group.sentinels, name: group.name },
    commandTimeoutMs: 2000,
    pingIntervalMs: 200,
    pingTimeoutMs: 500,
    ...(waitForReplication ? { waitForReplication: { replicas: 1, timeoutMs: 1000 } } : {}),
  };
  const options = { limits: { maxConnectionsPerIp: 100_000, maxConnections: 100_000 } };
  const start = () => startServerProcess({ broker, keyPrefix: "sentinel:", options });
  const nodes = await Promise.all([start(), start()]);
  for (const node of nodes) disposers.push(() => node.dispose());
  return nodes;
}

/**
 * After the fail-over: when each client first received a message again, and first had a
 * publish acknowledged again (with one replica and waitForReplication, only once the
 * restarted master has synced as a replica of the promoted one).
 */
function watchRecovery(history: History) {
  let failedOverAt = Number.POSITIVE_INFINITY;
  const received = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  const all = countdown(CLIENTS);
  const stop = history.onDelivery((delivery) => {
    if (Date.now() < failedOverAt || received.has(delivery.client)) return;
    received.set(delivery.client, Date.now());
    all.hit();
    if (received.size === CLIENTS) stop();
  });
  return {
    received,
    ackedAt,
    allReceiving: all.reached,
    failedOver(at: number) {
      failedOverAt = at;
    },
    acked(client: string) {
      if (Date.now() >= failedOverAt && !ackedAt.has(client)) ackedAt.set(client, Date.now());
    },
  };
}

/**
 * Probes from `observer`, ten a second to every topic until `done`: the fleet's own
 * publishes may all wait for acknowledgements (with one replica and waitForReplication,
 * until the restarted master is a synced replica), and then nothing new would flow.
 * Returns the probes' publishes, to await before the history is checked.
 */
async function probeUntil(
  observer: LifelineClient,
  history: History,
  done: Promise<void>,
): Promise<Promise<void>[]> {
  const probes: Promise<void>[] = [];
  const timer = setInterval(() => {
    for (let t = 0; t < TOPICS; t++) {
      const record = history.publish(topicName(t), "sentinel-probe");
      probes.push(observer.publish(topicName(t), record.data).then(record.acked, record.failed));
    }
  }, 100);
  try {
    await within(done, "every client to receive again after the fail-over", 60_000);
  } finally {
    clearInterval(timer);
  }
  return probes;
}

/**
 * Half the clients start on each node (each rotates to the other on failure), every client
 * publishes in a closed loop to the next topic, and the master is SIGKILLed once KILL_AT of
 * the publishes are acknowledged. With `restartMaster` the killed master is started again
 * once the fail-over is over; the Sentinels make it a replica of the promoted one, which a
 * deployment waiting for one replica needs before it acknowledges anything again.
 */
async function killMasterDuringTraffic(
  waitForReplication: boolean,
  restartMaster: boolean,
): Promise<RunResult> {
  const group = await startSentinelGroup({
    replicas: 1,
    sentinels: 3,
    downAfterMs: DOWN_AFTER_MS,
    failoverTimeoutMs: 5000,
  });
  disposers.push(() => group.dispose());
  const [a, b] = await startNodes(group, waitForReplication);
  // When each node's broker was healthy again (both connections on the promoted master).
  const healthyAt = new Map<ServerProcess, number>();
  for (const node of [a, b]) {
    node.onEvent((event) => {
      if (event.type === "broker_health" && event.healthy) healthyAt.set(node, event.at);
    });
  }
  const history = new History();
  const fleet = startFleet({
    url: a.url,
    urlOf: (i) => (i % 2 === 0 ? [a.url, b.url] : [b.url, a.url]),
    count: CLIENTS,
    prefix: "sentinel",
    topicsOf: (i) => [topicName(i)],
    history,
    clientOptions: { publishRetry: fastRetry },
  });
  const observer: LifelineClient = quietClient({
    url: [b.url, a.url],
    clientId: "sentinel-observer",
    publishRetry: fastRetry,
  });
  disposers.push(() => {
    fleet.close();
    observer.close();
  });
  await fleet.whenAllLive(30_000);
  await publishMarkers(fleet, observer, history, "start", 30_000);

  const total = CLIENTS * PUBLISHES_PER_CLIENT;
  const killPoint = countdown(Math.floor(total * KILL_AT));
  const recovery = watchRecovery(history);
  const loops = fleet.members.map((m, i) =>
    publishLoop(m.client, m.name, topicName(i + 1), PUBLISHES_PER_CLIENT, history, () => {
      killPoint.hit();
      recovery.acked(m.name);
    }),
  );
  await within(killPoint.reached, `${KILL_AT * 100}% of publishes acknowledged`, 60_000);

  const oldMaster = group.master.port;
  const killedAt = Date.now();
  await group.master.kill();
  const newMaster = group.replicas[0]?.port ?? -1;
  await group.waitForMaster(newMaster, 30_000);
  const failedOverAt = Date.now();
  const failoverMs = failedOverAt - killedAt;
  recovery.failedOver(failedOverAt);
  if (restartMaster) await group.master.restart();
  const probes = await probeUntil(observer, history, recovery.allReceiving);
  const backMs = Math.max(...recovery.received.values()) - killedAt;

  await within(
    Promise.all([...loops, ...probes]),
    "every publish loop and probe to finish",
    120_000,
  );
  await fleet.whenAllLive(60_000);
  await publishMarkers(fleet, observer, history, "end", 60_000);
  const report = history.check();
  const ackedMs = Math.max(...recovery.ackedAt.values()) - killedAt;
  const nodesMs = [a, b].map((node) => (healthyAt.get(node) ?? Number.NaN) - killedAt);
  console.info(
    `[chaos] sentinel ${waitForReplication ? "with" : "without"} waitForReplication: clients=${CLIENTS} master ${oldMaster} -> ${newMaster} failover_ms=${failoverMs} nodes_healthy_ms=${nodesMs.join(",")} all_receiving_ms=${backMs} (bound ${failoverMs + 2 * DOWN_AFTER_MS}) all_acknowledged_again_ms=${ackedMs} reconnected_clients=${fleet.members.filter((m) => m.opens > 1).length}`,
  );
  return { history, fleet, failoverMs, backMs, report };
}

describe.skipIf(skip)("Redis Sentinel: SIGKILL of the master under 200 publishing clients", () => {
  it("with waitForReplication: nothing acknowledged lost, duplicated or reordered, no gap, every client back in time", async () => {
    const { history, failoverMs, backMs } = await killMasterDuringTraffic(true, true);
    const report = expectClean(history, "sentinel with waitForReplication");
    expect(report.acknowledged).toBe(report.publishes);
    expect(report.checked).toBeGreaterThanOrEqual(CLIENTS * PUBLISHES_PER_CLIENT);
    // The promoted replica had every acknowledged append: the epochs survive.
    expect(report.gapEvents).toBe(0);
    expect(backMs).toBeLessThanOrEqual(failoverMs + 2 * DOWN_AFTER_MS);
  });

  it("without waitForReplication: a new epoch for every topic, every loss announced as a gap, none silent", async () => {
    const { history, fleet, failoverMs, backMs, report } = await killMasterDuringTraffic(
      false,
      false,
    );
    console.info(`[chaos] sentinel without waitForReplication\n${summarize(report)}`);
    expect(report.unacknowledged).toBe(0);
    expect(report.lost).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.outOfOrder).toBe(0);
    expect(report.conflicting).toBe(0);
    expect(report.publisherOrder).toBe(0);
    // Every subscriber was told its topic's history changed under it, once per topic.
    expect(report.clientsWithGap).toBe(CLIENTS);
    for (const member of fleet.members) {
      const gaps = history.gapsOf(member.name);
      expect(gaps.length, member.name).toBeGreaterThanOrEqual(1);
      expect(gaps.every((g) => g.reason === "epoch_changed")).toBe(true);
    }
    expect(backMs).toBeLessThanOrEqual(failoverMs + 2 * DOWN_AFTER_MS);
  });
});
