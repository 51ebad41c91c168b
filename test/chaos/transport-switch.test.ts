import type { LifelineClient } from "@lifeline/client";
import { createServer, type LifelineServer } from "@lifeline/server";
import { within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { expectClean } from "./support/expect-clean.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import { type FleetMember, publishMarkers, quietClient, startFleet } from "./support/fleet.js";
import { History } from "./support/history.js";

// The HTTP fallback under attack (PROTOCOL.md, "HTTP fallback (SSE)"): a proxy between the
// clients and the server starts refusing WebSocket upgrades while messages flow, so every
// client has to move to SSE, then stops refusing, so every client has to find its way back
// to WebSocket. Subscribers and two publishers sit behind the proxy; a third publisher is
// direct. Across both switches nothing may be lost, duplicated or reordered.

const TOPIC = "chaos/switch";
const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function startServer(): Promise<LifelineServer> {
  const server = await createServer({
    logger: false,
    authorize: () => true,
    heartbeat: { intervalMs: 500, timeoutMs: 1_000 },
  });
  disposers.push(() => server.close({ drainTimeoutMs: 100, spreadMs: 0, reconnectAfterMs: 0 }));
  return server;
}

/** A short exponential schedule with full jitter, so both switches happen within seconds. */
function fast(baseMs: number, capMs: number) {
  return {
    kind: "exponential",
    baseMs,
    factor: 2,
    capMs,
    maxAttempts: 1_000,
    jitter: "full",
  } as const;
}

function onTransport(member: FleetMember, transport: "websocket" | "sse"): boolean {
  const { client } = member;
  const open = client.status === "open" || client.status === "degraded";
  return open && client.stats().transport === transport;
}

/**
 * Publishes closed-loop until `stop()`, at most `limit` messages: the traffic that crosses
 * both switches, acknowledged through whatever transport the publisher is on.
 */
function publishUntilStopped(
  client: LifelineClient,
  name: string,
  history: History,
  limit: number,
) {
  let stopped = false;
  const done = (async () => {
    for (let i = 0; i < limit && !stopped; i += 1) {
      const record = history.publish(TOPIC, name);
      record.acked(await client.publish(TOPIC, record.data));
    }
  })();
  return {
    stop: () => {
      stopped = true;
      return within(done, `${name}'s last publish`, 30_000);
    },
  };
}

describe("a proxy that refuses WebSocket upgrades", () => {
  it("moves every client to SSE and back to WebSocket under traffic, losing and duplicating nothing", async () => {
    const server = await startServer();
    const proxy: FaultProxy = await startFaultProxy({ port: server.port });
    disposers.push(() => proxy.close());
    const history = new History();
    const fleet = startFleet({
      url: `ws://127.0.0.1:${proxy.port}/ws`,
      count: 6,
      prefix: "switching",
      topicsOf: () => [TOPIC],
      history,
      clientOptions: {
        backoff: fast(50, 400),
        probeBackoff: fast(200, 1_000),
      },
    });
    disposers.push(() => fleet.close());
    const direct = quietClient({ url: `ws://127.0.0.1:${server.port}/ws`, clientId: "direct" });
    disposers.push(() => direct.close());
    await fleet.whenAllLive(20_000);
    await publishMarkers(fleet, direct, history, "start", 20_000);

    const loops = [
      publishUntilStopped(direct, "direct", history, 5_000),
      ...fleet.members
        .slice(0, 2)
        .map((m) => publishUntilStopped(m.client, m.name, history, 5_000)),
    ];

    proxy.setFaults({ refuseUpgrades: 403 });
    for (const link of proxy.links) link.reset();
    await fleet.whenAll((m) => onTransport(m, "sse"), "every client on SSE", 30_000);
    expect(proxy.refusedUpgrades).toBeGreaterThanOrEqual(fleet.members.length);
    await publishMarkers(fleet, direct, history, "on-sse", 20_000);

    proxy.setFaults({});
    await fleet.whenAll(
      (m) => onTransport(m, "websocket"),
      "every client back on WebSocket",
      30_000,
    );
    await publishMarkers(fleet, direct, history, "back", 20_000);

    for (const loop of loops) await loop.stop();
    await publishMarkers(fleet, direct, history, "end", 20_000);
    const report = expectClean(history, "upgrades refused, then allowed again");
    expect(report.acknowledged).toBeGreaterThan(30);
  });
});
