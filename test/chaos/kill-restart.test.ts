import type { LifelineClient } from "@lifeline/client";
import { countdown, type RedisServer, startRedisServer, within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Fleet,
  publishLoop,
  publishMarkers,
  quietClient,
  startFleet,
} from "./support/fleet.js";
import { History, summarize } from "./support/history.js";
import { type ServerProcess, startServerProcess } from "./support/processes.js";

// docs/reliability.md, "Faults": the server is killed with SIGKILL (no shutdown message, no close
// frames) and restarted on the same port while 200+ clients are subscribed and publishing.

const CLIENTS = 200;
const TOPICS = 8;
const PUBLISHES_PER_CLIENT = 12;
/** The kill comes once this share of all publishes is acknowledged. */
const KILL_AT = 0.35;

const topicName = (i: number) => `chaos/kill/${i % TOPICS}`;

const serverOptions = {
  heartbeat: { intervalMs: 5000, timeoutMs: 5000 },
  limits: { maxConnectionsPerIp: 100_000, maxConnections: 100_000 },
};

let disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.reverse()) await dispose();
  disposers = [];
});

interface RunResult {
  readonly history: History;
  readonly fleet: Fleet;
  readonly downMs: number;
  readonly backMs: number;
  /** Publishes sent again after the restart (same id): the dedupe path under test. */
  readonly resent: number;
}

/**
 * Subscribes the fleet, starts every client's publish loop, SIGKILLs the server when
 * KILL_AT of the publishes are acknowledged, restarts it, and waits for every loop and for
 * a final marker on every topic (so every replay is over) before the history is checked.
 */
async function killDuringTraffic(
  server: ServerProcess,
  how: "kill" | "graceful" = "kill",
  beforeFault: (fleet: Fleet) => void = () => {},
): Promise<RunResult> {
  const history = new History();
  const fleet = startFleet({
    url: server.url,
    count: CLIENTS,
    prefix: "kill",
    topicsOf: (i) => [topicName(i)],
    history,
  });
  const observer: LifelineClient = quietClient({
    url: server.url,
    clientId: "kill-observer",
  });
  disposers.push(() => {
    fleet.close();
    observer.close();
  });
  await fleet.whenAllLive(30_000);
  await publishMarkers(fleet, observer, history, "start", 30_000);

  const total = CLIENTS * PUBLISHES_PER_CLIENT;
  const killPoint = countdown(Math.floor(total * KILL_AT));
  const loops = fleet.members.map((member, i) =>
    publishLoop(member.client, member.name, topicName(i + 1), PUBLISHES_PER_CLIENT, history, () =>
      killPoint.hit(),
    ),
  );
  await within(killPoint.reached, `${KILL_AT * 100}% of publishes acknowledged`, 60_000);
  beforeFault(fleet);
  const killedAt = Date.now();
  await (how === "kill" ? server.kill() : server.stop());
  await server.restart();
  const downMs = Date.now() - killedAt;
  await within(Promise.all(loops), "every publish loop to finish", 90_000);
  await fleet.whenAllLive(60_000);
  const backMs = Date.now() - killedAt;
  await publishMarkers(fleet, observer, history, "end", 30_000);
  const sent = fleet.members.reduce((n, m) => n + (m.client.stats().sent.publish ?? 0), 0);
  return { history, fleet, downMs, backMs, resent: sent - total };
}

/** Records, per member, the first drop after `arm()`: its close code and retry delay. */
function watchDrops(fleet: Fleet) {
  const drops = new Map<string, { code: number | undefined; delayMs: number }>();
  for (const member of fleet.members) {
    member.client.subscribeState((change) => {
      if (change.next !== "reconnecting" || drops.has(member.name)) return;
      const { nextRetryAt, since } = change.snapshot;
      drops.set(member.name, {
        code: change.cause.code,
        delayMs: nextRetryAt === undefined ? -1 : nextRetryAt - since,
      });
    });
  }
  return drops;
}

describe("server SIGKILL and restart under traffic", () => {
  it("with the Redis broker: zero lost acknowledged publishes, zero duplicates, order kept", async () => {
    const redis: RedisServer = await startRedisServer();
    disposers.push(() => redis.dispose());
    const server = await startServerProcess({ redisUrl: redis.url, options: serverOptions });
    disposers.push(() => server.dispose());

    const { history, fleet, downMs, backMs, resent } = await killDuringTraffic(server);
    const report = history.check();
    console.info(
      `[chaos] redis kill/restart: clients=${CLIENTS} down_ms=${downMs} all_back_ms=${backMs} resent_publishes=${resent}\n${summarize(report)}`,
    );
    // Publishes in flight at the kill were sent again with their ids, and not appended twice.
    expect(resent).toBeGreaterThan(0);
    expect(report.acknowledged).toBe(CLIENTS * PUBLISHES_PER_CLIENT + 2 * TOPICS);
    expect(report.unacknowledged).toBe(0);
    expect(report.checked).toBeGreaterThanOrEqual(CLIENTS * PUBLISHES_PER_CLIENT);
    expect(report.lost).toBe(0);
    expect(report.lostWithGap).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.outOfOrder).toBe(0);
    expect(report.doubleAppended).toBe(0);
    expect(report.conflicting).toBe(0);
    expect(report.publisherOrder).toBe(0);
    expect(report.gapEvents).toBe(0);
    expect(fleet.members.every((m) => m.opens >= 2)).toBe(true);
  });

  it("with the Redis broker and a graceful restart (SIGTERM): 1012, clients wait as told, nothing lost", async () => {
    const redis: RedisServer = await startRedisServer();
    disposers.push(() => redis.dispose());
    const server = await startServerProcess({ redisUrl: redis.url, options: serverOptions });
    disposers.push(() => server.dispose());
    let drops = new Map<string, { code: number | undefined; delayMs: number }>();
    const { history, fleet, downMs, backMs } = await killDuringTraffic(server, "graceful", (f) => {
      drops = watchDrops(f);
    });
    const report = history.check();
    const delays = [...drops.values()].map((d) => d.delayMs);
    console.info(
      `[chaos] redis graceful restart: clients=${CLIENTS} down_ms=${downMs} all_back_ms=${backMs} retry_delay_ms_min=${Math.min(...delays)} max=${Math.max(...delays)}\n${summarize(report)}`,
    );
    // Every client was told (1012) and waited at least the announced reconnect_after_ms.
    expect(drops.size).toBe(CLIENTS);
    expect([...drops.values()].every((d) => d.code === 1012)).toBe(true);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(300);
    expect(report.unacknowledged).toBe(0);
    expect(report.lost).toBe(0);
    expect(report.lostWithGap).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.outOfOrder).toBe(0);
    expect(report.doubleAppended).toBe(0);
    expect(report.gapEvents).toBe(0);
    expect(fleet.members.every((m) => m.opens >= 2)).toBe(true);
  });

  it("with the memory broker: every client gets a gap event instead of silent loss", async () => {
    const server = await startServerProcess({ options: serverOptions });
    disposers.push(() => server.dispose());

    const { history, fleet, downMs, backMs, resent } = await killDuringTraffic(server);
    const report = history.check();
    console.info(
      `[chaos] memory kill/restart: clients=${CLIENTS} down_ms=${downMs} all_back_ms=${backMs} resent_publishes=${resent}\n${summarize(report)}`,
    );
    expect(report.unacknowledged).toBe(0);
    expect(report.lost).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.outOfOrder).toBe(0);
    expect(report.conflicting).toBe(0);
    // The history died with the process: every subscriber is told, none is left unaware.
    expect(report.clientsWithGap).toBe(CLIENTS);
    for (const member of fleet.members) {
      const gaps = history.gapsOf(member.name);
      expect(gaps.length, member.name).toBeGreaterThanOrEqual(1);
      expect(gaps.every((g) => g.reason === "epoch_changed")).toBe(true);
    }
  });
});
