import {
  type ClientOptions,
  createClient,
  type LifelineClient,
  type StateChange,
} from "@lifeline/client";
import { createServer, type LifelineServer, type ServerOptions } from "@lifeline/server";
import { deferred, within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { expectClean } from "./support/expect-clean.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import {
  type Fleet,
  publishLoop,
  publishMarkers,
  startFleet,
  tappedWebSocket,
} from "./support/fleet.js";
import { History } from "./support/history.js";

// docs/reliability.md, "Faults": network faults between client and server injected by a TCP proxy.
// Subscribers go through the proxy; publishers connect directly, so traffic continues
// while a subscriber's link is broken, and the history shows whether it was made up for.

const TOPIC = "chaos/proxy";
const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function startServer(options: ServerOptions = {}): Promise<LifelineServer> {
  // The suite publishes from clients, which a server refuses unless allowed.
  const server = await createServer({ logger: false, authorize: () => true, ...options });
  disposers.push(() => server.close({ drainTimeoutMs: 100, spreadMs: 0, reconnectAfterMs: 0 }));
  return server;
}

async function startProxy(server: LifelineServer): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ port: server.port });
  disposers.push(() => proxy.close());
  return proxy;
}

function directClient(server: LifelineServer, name: string): LifelineClient {
  const client = createClient({
    url: `ws://127.0.0.1:${server.port}/ws`,
    clientId: name,
    lifecycle: false,
    logLevel: "silent",
    WebSocket: tappedWebSocket(() => {}),
  });
  disposers.push(() => client.close());
  return client;
}

function fleetThrough(
  proxy: FaultProxy,
  history: History,
  count: number,
  clientOptions: Partial<ClientOptions> = {},
): Fleet {
  const fleet = startFleet({
    url: `ws://127.0.0.1:${proxy.port}/ws`,
    count,
    prefix: "proxied",
    topicsOf: () => [TOPIC],
    history,
    clientOptions,
  });
  disposers.push(() => fleet.close());
  return fleet;
}

/** Resolves with the first state change of `client` that `predicate` accepts. */
function nextState(client: LifelineClient, predicate: (change: StateChange) => boolean) {
  const found = deferred<StateChange>();
  const stop = client.subscribeState((change) => {
    if (predicate(change)) {
      stop();
      found.resolve(change);
    }
  });
  return found.promise;
}

describe("faults injected by a TCP proxy", () => {
  it("loses nothing through latency, jitter and frames sliced into 1-7 byte segments", async () => {
    const server = await startServer();
    const proxy = await startProxy(server);
    proxy.setFaults({ latencyMs: 15, jitterMs: 25, sliceBytes: 7 });
    const history = new History();
    const fleet = fleetThrough(proxy, history, 8);
    const publisher = directClient(server, "proxy-publisher");
    await fleet.whenAllLive(20_000);
    await publishMarkers(fleet, publisher, history, "start", 20_000);
    // Publishers through the proxy too: acknowledgements cross the faulty link as well.
    await within(
      Promise.all(
        fleet.members.slice(0, 4).map((m) => publishLoop(m.client, m.name, TOPIC, 15, history)),
      ),
      "publishes through the faulty link",
      30_000,
    );
    await publishMarkers(fleet, publisher, history, "end", 20_000);
    expectClean(history, "latency + jitter + slicing");
    expect(fleet.members.every((m) => m.opens === 1)).toBe(true);
  });

  it("detects a silent link (half-open) within interval + grace on both sides, and loses nothing", async () => {
    const intervalMs = 300;
    const serverTimeoutMs = 400;
    const graceMs = 600;
    const server = await startServer({ heartbeat: { intervalMs, timeoutMs: serverTimeoutMs } });
    const proxy = await startProxy(server);
    const history = new History();
    const fleet = fleetThrough(proxy, history, 1, { heartbeatGraceMs: graceMs });
    const publisher = directClient(server, "silent-publisher");
    await fleet.whenAllLive(10_000);
    await publishMarkers(fleet, publisher, history, "start", 10_000);
    const subscriber = fleet.members[0]!.client;
    const connectionId = subscriber.stats().connectionId;

    const serverDropped = deferred<number>();
    server.on("disconnect", (connection) => {
      if (connection.id === connectionId) serverDropped.resolve(Date.now());
    });
    const clientDropped = nextState(
      subscriber,
      (c) => c.next === "reconnecting" && c.cause.errorClass === "timeout",
    );
    const [link] = proxy.links;
    const silencedAt = Date.now();
    link!.silence();
    // Traffic continues while the subscriber's link is silent.
    const during = publishLoop(publisher, "silent-publisher", TOPIC, 20, history);

    const change = await within(clientDropped, "the client to declare the link dead", 10_000);
    const lastFrameAt = subscriber.stats().lastActivityAt ?? silencedAt;
    const clientDetectMs = change.snapshot.since - lastFrameAt;
    const serverDetectMs =
      (await within(serverDropped.promise, "the server to drop it", 10_000)) - silencedAt;
    await within(during, "publishes during the silence", 10_000);
    await fleet.whenAllLive(10_000);
    await publishMarkers(fleet, publisher, history, "end", 10_000);
    console.info(
      `[chaos] half-open: client detected after ${clientDetectMs} ms of silence (bound ${intervalMs + graceMs}), server after ${serverDetectMs} ms (bound ${intervalMs + serverTimeoutMs})`,
    );
    // A few hundred ms of slack for timers on a loaded 2-core CI machine.
    expect(clientDetectMs).toBeGreaterThanOrEqual(intervalMs + graceMs / 2);
    expect(clientDetectMs).toBeLessThanOrEqual(intervalMs + graceMs + 600);
    expect(serverDetectMs).toBeLessThanOrEqual(intervalMs + serverTimeoutMs + 600);
    expectClean(history, "silent link");
  });

  it("recovers from a cut in the middle of a frame without loss or duplicates", async () => {
    const server = await startServer();
    const proxy = await startProxy(server);
    const history = new History();
    const fleet = fleetThrough(proxy, history, 3);
    const publisher = directClient(server, "cut-publisher");
    await fleet.whenAllLive(10_000);
    await publishMarkers(fleet, publisher, history, "start", 10_000);

    for (let round = 0; round < 3; round += 1) {
      const links = proxy.links;
      const cuts = links.map((link) => link.cutMidFrame());
      const drops = fleet.members.map((m) => nextState(m.client, (c) => c.next === "reconnecting"));
      // Big enough to span several TCP segments, so the cut lands inside a frame.
      const payload = "x".repeat(64 * 1024);
      const record = history.publish(TOPIC, "cut-publisher");
      record.acked(await publisher.publish(TOPIC, { ...record.data, payload }));
      await within(Promise.all(cuts), "every link to be cut", 10_000);
      const changes = await within(Promise.all(drops), "every client to notice", 10_000);
      expect(changes.every((c) => c.cause.errorClass === "abnormal")).toBe(true);
      await publishLoop(publisher, "cut-publisher", TOPIC, 5, history);
      await fleet.whenAllLive(20_000);
    }
    await publishMarkers(fleet, publisher, history, "end", 10_000);
    expectClean(history, "cut mid-frame x3");
    expect(fleet.members.every((m) => m.opens === 4)).toBe(true);
  });

  it("keeps a link through an idle-closing proxy alive with heartbeats shorter than its timeout", async () => {
    const server = await startServer({ heartbeat: { intervalMs: 150, timeoutMs: 1000 } });
    const proxy = await startProxy(server);
    proxy.setFaults({ idleCloseMs: 600 });
    const pings = { count: 0 };
    const enough = deferred();
    const client = createClient({
      url: `ws://127.0.0.1:${proxy.port}/ws`,
      clientId: "idle-kept",
      lifecycle: false,
      logLevel: "silent",
      WebSocket: tappedWebSocket((frame) => {
        if (frame === '{"type":"ping"}' && ++pings.count >= 12) enough.resolve();
      }),
    });
    disposers.push(() => client.close());
    // Twelve heartbeats span three idle timeouts.
    await within(enough.promise, "12 heartbeats", 10_000);
    expect(proxy.accepted).toBe(1);
    expect(client.stats().successfulConnections).toBe(1);
  });

  it("reconnects and resumes when an idle-closing proxy drops a link quieter than its timeout", async () => {
    const server = await startServer({ heartbeat: { intervalMs: 5000, timeoutMs: 5000 } });
    const proxy = await startProxy(server);
    proxy.setFaults({ idleCloseMs: 300 });
    const history = new History();
    const fleet = fleetThrough(proxy, history, 2);
    const publisher = directClient(server, "idle-publisher");
    await fleet.whenAllLive(10_000);
    await publishMarkers(fleet, publisher, history, "start", 10_000);
    const dropped = fleet.members.map((m) => nextState(m.client, (c) => c.next === "reconnecting"));
    await within(Promise.all(dropped), "the proxy to drop the idle links", 10_000);
    // Published while the subscribers are away; the idle timeout is lifted so the run ends.
    proxy.setFaults({});
    await publishLoop(publisher, "idle-publisher", TOPIC, 10, history);
    await fleet.whenAllLive(20_000);
    await publishMarkers(fleet, publisher, history, "end", 10_000);
    expectClean(history, "idle-closing proxy");
    expect(proxy.accepted).toBeGreaterThanOrEqual(4);
  });
});
