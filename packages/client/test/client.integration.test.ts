import { afterEach, describe, expect, it } from "vitest";
import type { LifelineClient } from "../src/api.js";
import type { GapEvent } from "../src/delivery/subscribe-options.js";
import type { ClientOptions } from "../src/options.js";
import { type FixtureServer, startFixtureServer } from "./fixtures/protocol-server.js";
import { testClient } from "./helpers/test-client.js";
import { Collector, waitForState } from "./helpers/wait.js";

// Real sockets through the Node entry (which loads `ws`: Node 20 has no global WebSocket),
// a protocol-speaking fixture server, and a manual clock for the client's timers.

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function fixture(
  options: Parameters<typeof startFixtureServer>[0] = {},
): Promise<FixtureServer> {
  const server = await startFixtureServer(options);
  disposers.push(() => server.close());
  return server;
}

function client(url: string, options: Partial<ClientOptions> = {}) {
  return testClient(url, (close) => disposers.push(close), { clientId: "it-client", ...options });
}

function numbers(c: LifelineClient, topic: string) {
  const seen = new Collector<number>();
  c.subscribe(topic, (data) => seen.push(data as number));
  return seen;
}

describe("client against a protocol fixture over real sockets", () => {
  it("connects through the ws fallback and round-trips a request", async () => {
    const server = await fixture();
    const { client: c } = client(server.url);
    await waitForState(c, "open");
    await expect(c.request("echo", { hello: "world" })).resolves.toEqual({ hello: "world" });
    const [connection] = server.connections;
    expect(connection?.query.get("client_id")).toBe("it-client");
    expect(connection?.socket.protocol).toBe("lifeline.v1");
    await expect(c.request("missing")).rejects.toMatchObject({ code: "unknown_method" });
  });

  it("resumes a subscription after a drop with no missing and no duplicated offsets", async () => {
    const server = await fixture();
    const { client: c, clock } = client(server.url);
    const seen = numbers(c, "ticks");
    await waitForState(c, "open");
    await c.request("echo", null); // the subscribe went before it, so it is live now
    for (let i = 1; i <= 5; i++) server.publish("ticks", i);
    await seen.waitFor(5);
    const reconnecting = waitForState(c, "reconnecting");
    server.terminateAll();
    expect((await reconnecting)?.cause).toMatchObject({ code: 1006, errorClass: "abnormal" });
    for (let i = 6; i <= 8; i++) server.publish("ticks", i);
    const open = waitForState(c, "open");
    clock.runNext();
    await open;
    await seen.waitFor(8);
    for (let i = 9; i <= 10; i++) server.publish("ticks", i);
    await seen.waitFor(10);
    await c.request("echo", null);
    expect(seen.items).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(c.stats().gaps).toBe(0);
  });

  it("reports a gap with the lost range when history expired while disconnected", async () => {
    const server = await fixture({ historySize: 3 });
    const { client: c, clock } = client(server.url);
    const seen = numbers(c, "t");
    const gaps = new Collector<GapEvent>();
    c.on("gap", gaps.push);
    await waitForState(c, "open");
    await c.request("echo", null);
    server.publish("t", 1);
    await seen.waitFor(1);
    const reconnecting = waitForState(c, "reconnecting");
    server.terminateAll();
    await reconnecting;
    for (let i = 2; i <= 10; i++) server.publish("t", i);
    clock.runNext();
    await seen.waitFor(4);
    expect(seen.items).toEqual([1, 8, 9, 10]);
    expect(gaps.items).toMatchObject([
      { topic: "t", reason: "history_expired", lost: { fromOffset: 2, toOffset: 7 } },
    ]);
  });

  it("replaces a half-open connection (server silent, socket still up)", async () => {
    const server = await fixture({ heartbeatIntervalMs: 1000 });
    const { client: c, clock } = client(server.url, { heartbeatGraceMs: 2000 });
    await waitForState(c, "open");
    const first = [...server.connections][0];
    server.mute();
    clock.advance(2000);
    expect(c.status).toBe("degraded");
    const reconnecting = waitForState(c, "reconnecting");
    clock.advance(1000);
    expect((await reconnecting)?.cause).toMatchObject({
      errorClass: "timeout",
      reason: expect.stringMatching(/half-open/),
    });
    server.unmute();
    const next = server.nextConnection();
    const open = waitForState(c, "open");
    clock.runNext();
    await open;
    expect(await next).not.toBe(first);
    expect(c.stats().successfulConnections).toBe(2);
  });

  it("publishes exactly once when the ack is lost with the connection", async () => {
    const server = await fixture();
    const { client: c, clock } = client(server.url);
    await waitForState(c, "open");
    server.dropNextAck();
    const reconnecting = waitForState(c, "reconnecting");
    const ack = c.publish("orders", { id: 42 });
    await reconnecting;
    clock.runNext();
    await expect(ack).resolves.toEqual({
      topic: "orders",
      offset: 1,
      epoch: server.logs.get("orders")?.epoch,
    });
    expect(server.logs.get("orders")?.entries.map((e) => e.data)).toEqual([{ id: 42 }]);
  });

  it("flushes messages queued while down in order on reopen", async () => {
    const server = await fixture();
    const { client: c, clock } = client(server.url);
    await waitForState(c, "open");
    const reconnecting = waitForState(c, "reconnecting");
    server.terminateAll();
    await reconnecting;
    const acks = [1, 2, 3, 4, 5].map((n) => c.publish("q", n));
    expect(c.stats().queueSize).toBe(5);
    clock.runNext();
    await Promise.all(acks);
    expect(server.logs.get("q")?.entries.map((e) => e.data)).toEqual([1, 2, 3, 4, 5]);
    expect((await Promise.all(acks)).map((a) => a.offset)).toEqual([1, 2, 3, 4, 5]);
  });

  it("times out a request the server never answers", async () => {
    const server = await fixture();
    server.methods.set("never", () => undefined);
    const { client: c, clock } = client(server.url);
    await waitForState(c, "open");
    const pending = c.request("never", null, { timeoutMs: 1000 });
    await c.request("echo", null);
    clock.advance(1000);
    await expect(pending).rejects.toMatchObject({ code: "timeout" });
  });

  it("enters failed on a fatal handshake close and stops retrying", async () => {
    const server = await fixture({ closeOnConnect: { code: 4401, reason: "token expired" } });
    const { client: c, clock } = client(server.url);
    const failed = await waitForState(c, "failed");
    expect(failed?.cause).toEqual({ code: 4401, reason: "token expired", errorClass: "auth" });
    expect(clock.pending()).toEqual([]);
    expect(server.connectionCount).toBe(1);
  });

  it("classifies a refused upgrade as a handshake failure and backs off harder on 503", async () => {
    const server = await fixture({ rejectStatus: 503 });
    const { client: c, clock } = client(server.url);
    const change = await waitForState(c, "reconnecting");
    expect(change?.cause).toMatchObject({
      errorClass: "handshake",
      reason: expect.stringMatching(/503/),
    });
    expect(clock.pending()).toEqual([5000 + 500 * 3]);
  });

  it("retries a refused upgrade with the normal schedule on other statuses", async () => {
    const server = await fixture({ rejectStatus: 403 });
    const { client: c, clock } = client(server.url);
    const change = await waitForState(c, "reconnecting");
    expect(change?.cause).toMatchObject({
      errorClass: "handshake",
      reason: expect.stringMatching(/403/),
    });
    expect(clock.pending()).toEqual([500]);
  });

  it("skips the upgrade while the readiness probe fails", async () => {
    const notReady = await fixture({ rejectStatus: 503 });
    const server = await fixture();
    const { client: c } = client(server.url, {
      readinessUrl: `http://127.0.0.1:${notReady.port}/health`,
    });
    const change = await waitForState(c, "reconnecting");
    expect(change?.cause).toEqual({
      reason: "the readiness probe answered HTTP 503",
      errorClass: "server_error",
    });
    expect(server.connectionCount).toBe(0);
  });

  it("upgrades once the readiness probe answers 2xx", async () => {
    const server = await fixture();
    const { client: c } = client(server.url, {
      readinessUrl: `http://127.0.0.1:${server.port}/health`,
    });
    await waitForState(c, "open");
    expect(server.connectionCount).toBe(1);
  });

  it("waits for reconnect_after_ms after a graceful restart and resumes on the new process", async () => {
    const first = await fixture();
    const { client: c, clock } = client(first.url);
    const seen = numbers(c, "t");
    await waitForState(c, "open");
    await c.request("echo", null);
    first.publish("t", 1);
    await seen.waitFor(1);
    const reconnecting = waitForState(c, "reconnecting");
    await first.shutdown(3000);
    const change = await reconnecting;
    expect(change?.cause).toMatchObject({ code: 1012, errorClass: "server_error" });
    const delay = (change?.snapshot.nextRetryAt ?? 0) - clock.now();
    expect(delay).toBeGreaterThanOrEqual(3000);
    // The next process keeps the history (a persistent broker) on the same port.
    const second = await fixture({ port: first.port, logs: first.logs });
    second.publish("t", 2);
    clock.advance(delay);
    await seen.waitFor(2);
    expect(seen.items).toEqual([1, 2]);
  });
});
