import { createClient, type LifelineClient, type StateChange } from "@lifeline/client";
import { deferred, skipWithout, within } from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expectClean } from "./support/expect-clean.js";
import {
  type Fleet,
  publishLoop,
  publishMarkers,
  startFleet,
  tappedWebSocket,
} from "./support/fleet.js";
import { History } from "./support/history.js";
import { createNetns, type Netns, netnsSupport } from "./support/netns.js";
import { type ServerProcess, startServerProcess } from "./support/processes.js";

// docs/reliability.md, "Faults": real packet faults. The server runs in a network namespace this file
// creates; clients reach it over a veth pair. Subscribers use the namespace's primary
// address, publishers the secondary one, so a fault can hit the subscribers alone.

// Off CI a machine without root or the tools skips these tests; under CI=true it fails them.
const support = netnsSupport();
const skip = skipWithout("network namespaces", support);

const TOPIC = "chaos/netns";
const tag = `${process.pid % 100_000}`;
let ns: Netns | undefined;
const disposers: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  if (support.ok) ns = createNetns(tag, (process.pid % 200) + 20);
});
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
  ns?.clearFilters();
  ns?.clearRateLimit();
});
afterAll(() => {
  ns?.destroy();
});

async function startServer(options: Record<string, unknown>): Promise<ServerProcess> {
  const netns = ns as Netns;
  const server = await startServerProcess({
    netns: netns.name,
    host: "0.0.0.0",
    connectHost: netns.primary,
    options: { limits: { maxConnectionsPerIp: 10_000 }, ...options },
  });
  disposers.push(() => server.dispose());
  return server;
}

function publisherVia(address: string, port: number, name: string): LifelineClient {
  const client = createClient({
    url: `ws://${address}:${port}/ws`,
    clientId: name,
    lifecycle: false,
    logLevel: "silent",
    connectTimeoutMs: 2000,
    WebSocket: tappedWebSocket(() => {}),
  });
  disposers.push(() => client.close());
  return client;
}

function fleetVia(
  server: ServerProcess,
  history: History,
  count: number,
  clientOptions: Record<string, unknown> = {},
): Fleet {
  const fleet = startFleet({
    url: server.url,
    count,
    prefix: "netns",
    topicsOf: () => [TOPIC],
    history,
    clientOptions: { connectTimeoutMs: 1000, ...clientOptions },
  });
  disposers.push(() => fleet.close());
  return fleet;
}

describe.skipIf(skip)("real packet faults in a network namespace", () => {
  it.each([
    { tool: "nft" as const, percent: 15 },
    { tool: "iptables" as const, percent: 10 },
  ])(
    "loses nothing under $percent% random packet loss in both directions ($tool)",
    async ({ tool, percent }) => {
      const server = await startServer({ heartbeat: { intervalMs: 1000, timeoutMs: 4000 } });
      const history = new History();
      const fleet = fleetVia(server, history, 10, { heartbeatGraceMs: 4000 });
      const publisher = publisherVia(ns!.secondary, server.port, `loss-${tool}-publisher`);
      await fleet.whenAllLive(20_000);
      await publishMarkers(fleet, publisher, history, "start", 20_000);
      ns!.randomLoss(percent, tool);
      await within(
        Promise.all(
          fleet.members.slice(0, 4).map((m) => publishLoop(m.client, m.name, TOPIC, 15, history)),
        ),
        "publishes under packet loss",
        60_000,
      );
      await publishMarkers(fleet, publisher, history, "end", 30_000);
      ns!.clearFilters();
      expectClean(history, `${percent}% random loss (${tool})`);
    },
  );

  it("detects a blackholed link within interval + grace on both sides and resumes without loss", async () => {
    const intervalMs = 500;
    const serverTimeoutMs = 500;
    const graceMs = 1000;
    const server = await startServer({ heartbeat: { intervalMs, timeoutMs: serverTimeoutMs } });
    const history = new History();
    const fleet = fleetVia(server, history, 3, { heartbeatGraceMs: graceMs });
    const publisher = publisherVia(ns!.secondary, server.port, "blackhole-publisher");
    await fleet.whenAllLive(10_000);
    await publishMarkers(fleet, publisher, history, "start", 10_000);

    const names = new Set(fleet.members.map((m) => m.name));
    const serverDrops = new Map<string, number>();
    const allServerDrops = deferred();
    server.onEvent((event) => {
      if (event.type !== "disconnect" || !names.has(event.client_id)) return;
      if (!serverDrops.has(event.client_id)) serverDrops.set(event.client_id, event.at);
      if (serverDrops.size === names.size) allServerDrops.resolve();
    });
    const clientDrops = fleet.members.map(
      (m) =>
        new Promise<{ change: StateChange; lastFrameAt: number }>((resolve) => {
          const stop = m.client.subscribeState((change) => {
            if (change.next === "reconnecting") {
              stop();
              resolve({ change, lastFrameAt: m.client.stats().lastActivityAt ?? 0 });
            }
          });
        }),
    );
    const blackholedAt = Date.now();
    ns!.blackhole(ns!.primary);
    const during = publishLoop(publisher, "blackhole-publisher", TOPIC, 10, history);
    const drops = await within(
      Promise.all(clientDrops),
      "every client to declare its link dead",
      10_000,
    );
    await within(allServerDrops.promise, "the server to drop every silent client", 10_000);
    ns!.clearFilters();
    await within(during, "publishes while the subscribers are cut off", 10_000);
    await fleet.whenAllLive(30_000);
    await publishMarkers(fleet, publisher, history, "end", 10_000);

    const clientDetect = drops.map((d) => d.change.snapshot.since - d.lastFrameAt);
    const serverDetect = [...serverDrops.values()].map((at) => at - blackholedAt);
    console.info(
      `[chaos] blackhole: client detection ms ${clientDetect.join(",")} (bound ${intervalMs + graceMs}); server ${serverDetect.join(",")} (bound ${intervalMs + serverTimeoutMs})`,
    );
    for (const d of drops) expect(d.change.cause.errorClass).toBe("timeout");
    for (const ms of clientDetect) expect(ms).toBeLessThanOrEqual(intervalMs + graceMs + 500);
    for (const ms of serverDetect)
      expect(ms).toBeLessThanOrEqual(intervalMs + serverTimeoutMs + 500);
    expectClean(history, "blackhole");
  });

  it("delivers a burst complete and in order over a 4 mbit/s token-bucket link", async () => {
    const server = await startServer({ heartbeat: { intervalMs: 1000, timeoutMs: 5000 } });
    const history = new History();
    const fleet = fleetVia(server, history, 3, { heartbeatGraceMs: 5000 });
    const publisher = publisherVia(ns!.secondary, server.port, "tbf-publisher");
    await fleet.whenAllLive(10_000);
    await publishMarkers(fleet, publisher, history, "start", 10_000);
    ns!.rateLimit("4mbit", "32kb");
    const payload = "y".repeat(8 * 1024);
    const messages = 40;
    const startedAt = Date.now();
    for (let i = 0; i < messages; i += 1) {
      const record = history.publish(TOPIC, "tbf-publisher");
      record.acked(await publisher.publish(TOPIC, { ...record.data, payload }));
    }
    await publishMarkers(fleet, publisher, history, "end", 30_000);
    const elapsedMs = Date.now() - startedAt;
    const bytes = messages * payload.length * fleet.members.length;
    const floorMs = ((bytes * 8) / 4_000_000) * 1000 * 0.7;
    console.info(
      `[chaos] tbf 4mbit: ${bytes} bytes to ${fleet.members.length} subscribers in ${elapsedMs} ms (at least ${Math.round(floorMs)} ms if the limit held)`,
    );
    expect(elapsedMs).toBeGreaterThanOrEqual(floorMs);
    expectClean(history, "tbf 4mbit");
  });
});
