import { AuthError, createMemoryBroker, createServer, type LifelineServer } from "@lifeline/server";
import { afterEach, describe, expect, it } from "vitest";
import type { LifelineClient } from "../src/api.js";
import type { GapEvent } from "../src/delivery/subscribe-options.js";
import type { ClientOptions } from "../src/options.js";
import { testClient } from "./helpers/test-client.js";
import { Collector, waitForState } from "./helpers/wait.js";

// The client against the real @lifeline/server over real sockets on 127.0.0.1. The client's
// timers run on a manual clock (retry delays are advanced by hand); the server keeps its
// own system clock, since fake timers must never wrap real sockets.

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

type ServerOptions = NonNullable<Parameters<typeof createServer>[0]>;

async function server(options: ServerOptions = {}): Promise<LifelineServer> {
  // These tests publish from clients, which a server refuses unless allowed.
  const s = await createServer({ port: 0, logger: false, authorize: () => true, ...options });
  s.method("echo", (params) => params);
  let closed = false;
  disposers.push(async () => {
    if (!closed) await s.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 });
  });
  const close = s.close.bind(s);
  (s as { close: typeof s.close }).close = async (o) => {
    closed = true;
    await close(o);
  };
  return s;
}

function client(port: number, options: Partial<ClientOptions> = {}) {
  return testClient(`ws://127.0.0.1:${port}/ws`, (close) => disposers.push(close), {
    clientId: "real-client",
    role: "test",
    ...options,
  });
}

function numbers(c: LifelineClient, topic: string) {
  const seen = new Collector<number>();
  c.subscribe(topic, (data) => seen.push(data as number));
  return seen;
}

/** Restarts a server on the same port: graceful close (1012 + reconnect_after_ms), then a new one. */
async function restart(
  old: LifelineServer,
  options: ServerOptions,
  reconnectAfterMs: number,
): Promise<() => Promise<LifelineServer>> {
  const port = old.port;
  await old.close({ reconnectAfterMs, spreadMs: 0, drainTimeoutMs: 500 });
  // Two turns of the event loop (one to read the FINs of the connections the old server
  // closed, one for their close callbacks) before the clock moves. The test's client shares
  // the server's process and retries on a manual clock with no I/O in between: Node's fetch
  // (over SSE) would hand the retry a pooled keep-alive socket it has not yet seen closed
  // (nodejs/undici#3492), a race a client in its own process, retrying after
  // reconnect_after_ms, does not run into.
  for (let turn = 0; turn < 2; turn += 1) await new Promise((resolve) => setImmediate(resolve));
  return () => server({ ...options, port });
}

describe("client against @lifeline/server", () => {
  it("connects, says hello, and round-trips a request", async () => {
    const s = await server();
    const { client: c } = client(s.port);
    await waitForState(c, "open");
    await expect(c.request("echo", { hello: "world" })).resolves.toEqual({ hello: "world" });
    await expect(c.request("missing")).rejects.toMatchObject({ code: "unknown_method" });
    const stats = c.stats();
    expect(stats.serverFeatures).toEqual(expect.arrayContaining(["resume"]));
    expect(stats.heartbeatIntervalMs).toBe(25_000);
    expect(s.connections()).toHaveLength(1);
  });

  it("measures a round trip with ping, which the server answers with pong", async () => {
    const s = await server();
    const { client: c } = client(s.port);
    await waitForState(c, "open");
    // The client's clock is manual and stands still: a real pong measures 0 ms on it.
    await expect(c.ping({ timeoutMs: 1000 })).resolves.toBe(0);
    expect(c.stats().roundTripMs).toBe(0);
    expect(c.stats().received.pong).toBe(1);
  });

  it("resumes subscriptions across a server restart with no missing and no duplicated offsets", async () => {
    const broker = createMemoryBroker();
    disposers.push(() => broker.close());
    const first = await server({ broker });
    const { client: c, clock } = client(first.port);
    const seen = numbers(c, "ticks");
    const offsets = new Collector<number>();
    c.on("message", (m) => offsets.push(m.offset));
    await waitForState(c, "open");
    await c.request("echo", null);
    for (let i = 1; i <= 5; i++) await first.publish("ticks", i);
    await seen.waitFor(5);

    const reconnecting = waitForState(c, "reconnecting");
    const next = await restart(first, { broker }, 2000);
    const drop = await reconnecting;
    expect(drop?.cause).toMatchObject({ code: 1012, errorClass: "server_error" });
    const delay = (drop?.snapshot.nextRetryAt ?? 0) - clock.now();
    expect(delay).toBeGreaterThanOrEqual(2000);

    // Published while no server was up: kept by the broker, replayed on resume.
    for (let i = 6; i <= 8; i++) await broker.append("ticks", i);
    const second = await next();
    const open = waitForState(c, "open");
    clock.advance(delay);
    await open;
    await seen.waitFor(8);
    for (let i = 9; i <= 10; i++) await second.publish("ticks", i);
    await seen.waitFor(10);
    await c.request("echo", null);
    expect(seen.items).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(offsets.items).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(c.stats()).toMatchObject({ gaps: 0, duplicatesDropped: 0, successfulConnections: 2 });
  });

  it("reports an epoch change when the restarted server lost its history", async () => {
    const first = await server();
    const { client: c, clock } = client(first.port);
    const seen = numbers(c, "ticks");
    const gaps = new Collector<GapEvent>();
    c.on("gap", gaps.push);
    await waitForState(c, "open");
    await c.request("echo", null);
    for (let i = 1; i <= 3; i++) await first.publish("ticks", i);
    await seen.waitFor(3);
    const reconnecting = waitForState(c, "reconnecting");
    const next = await restart(first, {}, 0);
    await reconnecting;
    const second = await next();
    await second.publish("ticks", 100);
    const open = waitForState(c, "open");
    clock.runNext();
    await open;
    await gaps.waitFor(1);
    await second.publish("ticks", 101);
    await seen.waitFor(4);
    expect(gaps.items).toMatchObject([
      {
        topic: "ticks",
        reason: "epoch_changed",
        since: { offset: 3 },
        resumedAt: { offset: 1 },
        lost: { fromOffset: 1, toOffset: 1 },
      },
    ]);
    expect(seen.items).toEqual([1, 2, 3, 101]);
  });

  it("flushes publishes queued while the server was down, in order, each once", async () => {
    const broker = createMemoryBroker();
    disposers.push(() => broker.close());
    const first = await server({ broker });
    const { client: c, clock } = client(first.port);
    await waitForState(c, "open");
    const reconnecting = waitForState(c, "reconnecting");
    const next = await restart(first, { broker }, 0);
    await reconnecting;
    const acks = Array.from({ length: 20 }, (_, i) => c.publish("orders", { n: i + 1 }));
    expect(c.stats().queueSize).toBe(20);
    await next();
    clock.runNext();
    const results = await Promise.all(acks);
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const history = await broker.readSince("orders", 0, results[0]?.epoch);
    expect(history.entries.map((e) => (e.data as { n: number }).n)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  it("appends a publish exactly once when the connection drops before its ack", async () => {
    const broker = createMemoryBroker();
    disposers.push(() => broker.close());
    const s = await server({ broker });
    const { client: c } = client(s.port);
    await waitForState(c, "open");
    const acks = [];
    for (let i = 1; i <= 10; i++) {
      acks.push(c.publish("once", i));
      // The frame is on the wire; the socket is dropped before any ack can come back,
      // so the client sends the publish again, with the same id, on the next connection.
      const open = waitForState(c, "open");
      c.reconnect();
      await open;
    }
    const results = await Promise.all(acks);
    const history = await broker.readSince("once", 0, results[0]?.epoch);
    expect(history.entries.map((e) => e.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(results.map((r) => r.offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it.each([
    [4401, "unauthenticated"],
    [4403, "forbidden"],
  ] as const)("stops retrying after the server closes with %i (%s)", async (code, reason) => {
    const s = await server({
      authenticate: () => {
        throw new AuthError(reason, code);
      },
    });
    const { client: c, clock } = client(s.port);
    const failed = await waitForState(c, "failed");
    expect(failed?.cause).toMatchObject({ code, errorClass: code === 4401 ? "auth" : "handshake" });
    expect(clock.pending()).toEqual([]);
    expect(c.stats().attemptsTotal).toBe(1);
  });

  it("stops a client whose session was replaced (4409) instead of fighting for it", async () => {
    const s = await server();
    const { client: older } = client(s.port, { clientId: "shared-id" });
    await waitForState(older, "open");
    const failed = waitForState(older, "failed");
    const { client: newer } = client(s.port, { clientId: "shared-id" });
    await waitForState(newer, "open");
    expect((await failed)?.cause).toMatchObject({ code: 4409, errorClass: "server_error" });
    expect(newer.status).toBe("open");
  });

  it("enters failed when the server refuses the role (4401), without retrying", async () => {
    const s = await server();
    const { client: c, clock } = client(s.port, { role: "nobody" as "test" });
    const failed = await waitForState(c, "failed");
    expect(failed?.cause).toMatchObject({ code: 4401, errorClass: "auth" });
    expect(clock.pending()).toEqual([]);
  });
});
