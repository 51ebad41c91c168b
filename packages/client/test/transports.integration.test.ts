import { createServer, type LifelineServer } from "@lifeline/server";
import { startUpgradeRefusingProxy, within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import type { LifelineClient } from "../src/api.js";
import type { ClientOptions } from "../src/options.js";
import type { ManualClock } from "./helpers/manual-clock.js";
import { testClient } from "./helpers/test-client.js";
import { Collector, waitForState } from "./helpers/wait.js";

// The client's wires against the real @lifeline/server on 127.0.0.1 (README, "Transports
// and fallback", "MessagePack codec"): SSE, MessagePack, and the switch between them
// behind a proxy that refuses WebSocket upgrades. The client's timers run on a manual
// clock (retries and probes are advanced by hand); the server keeps its own.

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function server(): Promise<LifelineServer> {
  const s = await createServer({ port: 0, logger: false, authorize: () => true });
  s.method("echo", (params) => params);
  disposers.push(() => s.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 }));
  return s;
}

function client(port: number, options: Partial<ClientOptions> = {}) {
  return testClient(`ws://127.0.0.1:${port}/ws`, (close) => disposers.push(close), {
    role: "test",
    ...options,
  });
}

/**
 * Resolves once `check` holds, tested after every change of the client's state snapshot
 * (a transition, or a patch such as a change of transport).
 */
function until(c: LifelineClient, check: () => boolean, label: string): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      if (check()) return resolve();
      const stop = c.state.subscribe(() => {
        if (!check()) return;
        stop();
        resolve();
      });
    }),
    label,
  );
}

/**
 * Runs the client's retries until it is open again, five at most. The first may fail: a
 * pooled keep-alive connection the cut closed can be handed to it before `fetch` noticed.
 */
async function retryUntilOpen(c: LifelineClient, clock: ManualClock): Promise<void> {
  for (let retry = 0; retry < 5 && c.status !== "open"; retry++) {
    clock.runNext();
    await until(c, () => c.status !== "connecting", `retry ${retry + 1} to settle`);
  }
  expect(c.status).toBe("open");
}

/** Publishes 1..count to `topic` from `from`, one at a time, each acknowledged. */
async function publishNumbers(from: LifelineClient, topic: string, first: number, count: number) {
  for (let n = first; n < first + count; n++) await from.publish(topic, n);
}

function expectInOrderOnce(seen: readonly number[], count: number) {
  expect(seen).toEqual(Array.from({ length: count }, (_, i) => i + 1));
}

describe("over SSE", () => {
  it("subscribes, publishes and requests", async () => {
    const s = await server();
    const { client: c } = client(s.port, { clientId: "sse-1", transports: ["sse"] });
    await waitForState(c, "open");
    expect(c.stats()).toMatchObject({ transport: "sse", codec: "json" });
    expect(c.stats().serverFeatures).toContain("sse");
    expect(s.connections()).toHaveLength(1);
    const seen = new Collector<number>();
    c.subscribe("sse/t", (data) => seen.push(data as number));
    // Posts are handled in order: once this is answered, the subscription is live.
    await expect(c.request("echo", { over: "sse" })).resolves.toEqual({ over: "sse" });
    await publishNumbers(c, "sse/t", 1, 3);
    await s.publish("sse/t", 4);
    expect(await within(seen.waitFor(4), "four messages")).toEqual([1, 2, 3, 4]);
    await expect(c.ping({ timeoutMs: 2000 })).resolves.toBeGreaterThanOrEqual(0);
  });

  it("resumes from its offset after the stream drops, losing and repeating nothing", async () => {
    const s = await server();
    const proxy = await startUpgradeRefusingProxy(s.port);
    disposers.push(() => proxy.close());
    const { client: c, clock } = client(proxy.port, { clientId: "sse-2", transports: ["sse"] });
    const seen = new Collector<number>();
    c.subscribe("sse/resume", (data) => seen.push(data as number));
    await waitForState(c, "open");
    // Posts are handled in order: once this is answered, the subscription is live.
    await c.request("echo", null);
    await s.publish("sse/resume", 1);
    await within(seen.waitFor(1), "the first message");
    proxy.cutAll();
    await waitForState(c, "reconnecting");
    for (let n = 2; n <= 5; n++) await s.publish("sse/resume", n);
    await retryUntilOpen(c, clock);
    await s.publish("sse/resume", 6);
    expectInOrderOnce(await within(seen.waitFor(6), "six messages"), 6);
    expect(c.stats().duplicatesDropped).toBe(0);
  });
});

describe("MessagePack", () => {
  it("negotiates the codec and round-trips binary data in publishes and requests", async () => {
    const s = await server();
    const { client: c } = client(s.port, { clientId: "mp-1", codec: "msgpack" });
    await waitForState(c, "open");
    expect(c.stats()).toMatchObject({ transport: "websocket", codec: "msgpack" });
    expect(c.getSnapshot().codec).toBe("msgpack");
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    const seen = new Collector<unknown>();
    c.subscribe("mp/bin", (data) => seen.push(data));
    await c.request("echo", null);
    await c.publish("mp/bin", { frame: 1, bytes });
    const [delivered] = await within(seen.waitFor(1), "the binary message");
    expect(delivered).toEqual({ frame: 1, bytes });
    expect((delivered as { bytes: unknown }).bytes).toBeInstanceOf(Uint8Array);
    await expect(c.request("echo", { bytes })).resolves.toEqual({ bytes });
  });

  it("speaks JSON over SSE even when it asked for MessagePack", async () => {
    const s = await server();
    const { client: c } = client(s.port, {
      clientId: "mp-2",
      codec: "msgpack",
      transports: ["sse"],
    });
    await waitForState(c, "open");
    expect(c.stats()).toMatchObject({ transport: "sse", codec: "json" });
    await expect(c.request("echo", [1, "two"])).resolves.toEqual([1, "two"]);
  });
});

describe("behind a proxy that refuses WebSocket upgrades", () => {
  it("falls back to SSE at the first refusal, then moves back without losing or repeating a message", async () => {
    const s = await server();
    const proxy = await startUpgradeRefusingProxy(s.port);
    disposers.push(() => proxy.close());
    proxy.refuse(403);
    const { client: c, clock } = client(proxy.port, { clientId: "switch-1" });
    const seen = new Collector<number>();
    c.subscribe("switch/t", (data) => seen.push(data as number));
    await until(c, () => c.status === "reconnecting" && proxy.refused === 1, "one refusal");
    expect(c.stats().recentAttempts[0]).toMatchObject({
      transport: "websocket",
      errorClass: "handshake",
    });
    clock.runNext();
    await until(c, () => c.status === "open" && c.stats().transport === "sse", "open over SSE");

    // Traffic from a publisher through the proxy (on SSE too) and from the server, across
    // the switch.
    const { client: publisher } = client(proxy.port, {
      clientId: "switch-publisher",
      transports: ["sse"],
    });
    await waitForState(publisher, "open");
    const sending = publishNumbers(publisher, "switch/t", 1, 40);
    await within(seen.waitFor(10), "ten messages over SSE");
    proxy.refuse(undefined);
    // The first probe is due within 5 s (probeBackoff), long before any heartbeat deadline.
    clock.advance(5000);
    await until(c, () => c.stats().transport === "websocket", "back on WebSocket");
    expect(c.status).toBe("open");
    expect(c.stats().probes.started).toBeGreaterThanOrEqual(1);
    await within(sending, "every publish acknowledged");
    expectInOrderOnce(await within(seen.waitFor(40), "all forty messages"), 40);
    await publisher.publish("switch/t", 41);
    expect(await within(seen.waitFor(41), "one more")).toHaveLength(41);
    expect(s.connections().filter((connection) => connection.clientId === "switch-1")).toHaveLength(
      1,
    );
  });
});
