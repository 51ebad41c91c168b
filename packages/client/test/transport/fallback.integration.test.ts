import { exponential } from "@lifeline/backoff";
import { within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import type { LifelineClient } from "../../src/api.js";
import { createClient } from "../../src/index.js";
import type { ClientOptions } from "../../src/options.js";
import type { StateChange } from "../../src/state/store.js";
import { fakeSockets } from "../helpers/fake-socket.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { type Received, type Stream, scriptedSseServer, sseHello } from "../helpers/sse-server.js";
import { Collector } from "../helpers/wait.js";

// The client's choice of wire against fake WebSockets and a scripted SSE endpoint on
// 127.0.0.1 (README, "Transports and fallback"): falling back, probing, moving back.

type Server = Awaited<ReturnType<typeof scriptedSseServer>>;

const disposers: (() => unknown)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function setup(overrides: Partial<ClientOptions> = {}) {
  const server = await scriptedSseServer();
  disposers.push(() => server.close());
  const port = new URL(server.url).port;
  const clock = new ManualClock();
  const sockets = fakeSockets();
  const client = createClient({
    url: `ws://127.0.0.1:${port}/ws`,
    clientId: "c1",
    WebSocket: sockets.WebSocket,
    clock,
    random: () => 0.5,
    lifecycle: false,
    logLevel: "silent",
    probeBackoff: exponential({ baseMs: 1000, maxAttempts: Infinity, jitter: "none" }),
    ...overrides,
  });
  disposers.push(() => client.close());
  const changes: StateChange[] = [];
  client.on("state", (change) => changes.push(change));
  return { server, clock, sockets, client, changes };
}

/** The messages of every post so far, in order. */
function posted(server: Server): Array<Record<string, unknown>> {
  return server.posts.flatMap((post: Received) => JSON.parse(post.body));
}

/** Resolves once a post carried a message of `type` (and `topic`, if given). */
async function postedMessage(server: Server, type: string, topic?: string) {
  const matches = (m: Record<string, unknown>) =>
    m.type === type && (topic === undefined || m.topic === topic);
  for (let count = 1; count <= 50; count++) {
    await within(server.postsReceived(count), `a post with ${type}`);
    const found = posted(server).find(matches);
    if (found) return found;
  }
  throw new Error(`no ${type} was posted`);
}

/** Fails two WebSocket attempts, then lets the SSE attempt open and greets it. */
async function fallBackToSse(context: Awaited<ReturnType<typeof setup>>): Promise<Stream> {
  const { sockets, clock, server, client } = context;
  (await sockets.nth(0)).fail();
  clock.runNext();
  (await sockets.nth(1)).fail();
  const streamOpened = server.nextStream();
  clock.runNext();
  const stream = await within(streamOpened, "the SSE stream");
  stream.write(":ok\n\n");
  stream.event(sseHello("sse.1"));
  await within(waitOpen(client), "open over SSE");
  return stream;
}

/** Answers the client's posted subscribe to "t" on the stream, and delivers offset 1. */
async function answerSubscribe(server: Server, stream: Stream): Promise<void> {
  const subscribe = await postedMessage(server, "subscribe", "t");
  stream.event({
    type: "subscribed",
    id: subscribe.id,
    topic: "t",
    offset: 0,
    epoch: "e1",
    recovered: true,
    replayed: 0,
  });
  stream.event({ type: "message", topic: "t", offset: 1, epoch: "e1", ts: 1, data: "one" });
}

function waitOpen(client: LifelineClient): Promise<void> {
  if (client.status === "open") return Promise.resolve();
  return new Promise((resolve) => {
    const stop = client.on("state", (change) => {
      if (change.next !== "open") return;
      stop();
      resolve();
    });
  });
}

describe("falling back to SSE", () => {
  it("moves to SSE after two failed WebSocket attempts and carries subscriptions and publishes there", async () => {
    const context = await setup();
    const { client, server } = context;
    const seen: unknown[] = [];
    client.subscribe("t", (data) => seen.push(data));
    const stream = await fallBackToSse(context);
    expect(stream.url.pathname).toBe("/sse");
    expect(stream.url.searchParams.get("client_id")).toBe("c1");
    expect(client.stats()).toMatchObject({ transport: "sse", codec: "json", state: "open" });
    expect(client.getSnapshot()).toMatchObject({ transport: "sse", codec: "json" });
    expect(client.stats().recentAttempts.map((a) => a.transport)).toEqual([
      "websocket",
      "websocket",
      "sse",
    ]);

    await answerSubscribe(server, stream);
    const acked = client.publish("t", { n: 1 });
    const publish = await postedMessage(server, "publish");
    stream.event({
      type: "response",
      id: publish.id,
      ok: true,
      result: { topic: "t", offset: 2, epoch: "e1" },
    });
    expect(await within(acked, "the publish's ack")).toEqual({
      topic: "t",
      offset: 2,
      epoch: "e1",
    });
    expect(seen).toEqual(["one"]);
  });

  it("moves back to WebSocket when a probe gets hello, resuming by offset and replaying unacknowledged publishes", async () => {
    const context = await setup();
    const { client, server, sockets, clock, changes } = context;
    const seen = new Collector<unknown>();
    client.subscribe("t", (data) => seen.push(data));
    const stream = await fallBackToSse(context);
    await answerSubscribe(server, stream);
    const acked = client.publish("t", { n: 1 });
    const publish = await postedMessage(server, "publish");
    await within(seen.waitFor(1), "the first message");

    const changesOnSse = changes.length;
    clock.advance(1000);
    const probe = await within(sockets.nth(2), "the WebSocket probe");
    expect(client.stats().probes).toEqual({ started: 1, failed: 0 });
    probe.accept({ connection_id: "ws.1" });
    await within(stream.gone, "the SSE stream to be let go");

    expect(client.stats()).toMatchObject({ transport: "websocket", connectionId: "ws.1" });
    expect(client.getSnapshot().transport).toBe("websocket");
    expect(changes.slice(changesOnSse)).toEqual([]);
    expect(probe.ofType("subscribe")).toEqual([
      expect.objectContaining({ topic: "t", since: { offset: 1, epoch: "e1" } }),
    ]);
    expect(probe.ofType("publish")).toEqual([expect.objectContaining({ id: publish.id })]);
    probe.receive({
      type: "response",
      id: publish.id,
      ok: true,
      result: { topic: "t", offset: 2, epoch: "e1" },
    });
    expect(await within(acked, "the ack over WebSocket")).toMatchObject({ offset: 2 });
    // The resumed subscription: a repeat of offset 1 is dropped, offset 2 is new.
    probe.receive({ type: "message", topic: "t", offset: 1, epoch: "e1", ts: 1, data: "one" });
    probe.receive({ type: "message", topic: "t", offset: 2, epoch: "e1", ts: 2, data: "two" });
    const resubscribe = probe.ofType("subscribe")[0] as { id: string };
    probe.receive({
      type: "subscribed",
      id: resubscribe.id,
      topic: "t",
      offset: 2,
      epoch: "e1",
      recovered: true,
      replayed: 1,
    });
    expect(await within(seen.waitFor(2), "two messages")).toEqual(["one", "two"]);
    expect(client.stats().duplicatesDropped).toBe(1);
  });

  it("takes the server's 4409 on the SSE stream during a probe as the switch, not a replaced session", async () => {
    const context = await setup();
    const { client, sockets, clock } = context;
    const stream = await fallBackToSse(context);
    clock.advance(1000);
    const probe = await within(sockets.nth(2), "the probe");
    probe.open();
    stream.write('event: close\ndata: {"code":4409,"reason":"replaced by a newer connection"}\n\n');
    await within(stream.gone, "the stream's end");
    expect(client.status).toBe("open");
    probe.accept({ connection_id: "ws.2" });
    expect(client.status).toBe("open");
    expect(client.stats()).toMatchObject({ transport: "websocket", connectionId: "ws.2" });
  });

  it("reconnects, not fails, when the probe that took the session over then fails", async () => {
    const context = await setup();
    const { client, sockets, clock, server } = context;
    const stream = await fallBackToSse(context);
    clock.advance(1000);
    const probe = await within(sockets.nth(2), "the probe");
    probe.open();
    stream.write('event: close\ndata: {"code":4409,"reason":"replaced"}\n\n');
    await within(stream.gone, "the stream's end");
    probe.fail("connect ECONNRESET");
    expect(client.status).toBe("reconnecting");
    expect(client.getSnapshot().cause?.reason).toMatch(/taken over by a probe that then failed/);
    expect(client.stats().probes).toEqual({ started: 1, failed: 1 });
    const again = server.nextStream();
    clock.runNext();
    await within(again, "a new SSE stream");
  });

  it("treats 4409 without a probe as another connection taking the session (fatal)", async () => {
    const context = await setup();
    const { client } = context;
    const stream = await fallBackToSse(context);
    stream.write('event: close\ndata: {"code":4409,"reason":"replaced"}\n\n');
    await within(stream.gone, "the stream's end");
    await within(
      new Promise<void>((resolve) => {
        if (client.status === "failed") resolve();
        else client.on("state", (change) => change.next === "failed" && resolve());
      }),
      "failed",
    );
  });

  it("connects over SSE only when told to, and never opens a WebSocket", async () => {
    const { client, server, sockets } = await setup({ transports: ["sse"] });
    const stream = await within(server.nextStream(), "the SSE stream");
    stream.event(sseHello());
    await within(waitOpen(client), "open");
    expect(sockets.all).toHaveLength(0);
    expect(client.stats().transport).toBe("sse");
  });

  it("stays on WebSocket when SSE is not among the transports", async () => {
    const { sockets, clock, client } = await setup({ transports: ["websocket"] });
    for (let i = 0; i < 4; i++) {
      (await sockets.nth(i)).fail();
      clock.runNext();
    }
    await within(sockets.nth(4), "a fifth WebSocket attempt");
    expect(client.stats().recentAttempts.every((a) => a.transport === "websocket")).toBe(true);
  });
});

describe("setTransports", () => {
  it("forces SSE on an open WebSocket connection, and WebSocket back, resuming by offset", async () => {
    const context = await setup();
    const { client, server, sockets } = context;
    const seen = new Collector<unknown>();
    client.subscribe("t", (data) => seen.push(data));
    const first = await within(sockets.nth(0), "the socket");
    first.accept();
    const sub = first.ofType("subscribe")[0] as { id: string };
    first.receive({
      type: "subscribed",
      id: sub.id,
      topic: "t",
      offset: 0,
      epoch: "e1",
      recovered: true,
      replayed: 0,
    });
    first.receive({ type: "message", topic: "t", offset: 1, epoch: "e1", ts: 1, data: "one" });
    await within(seen.waitFor(1), "the first message");

    const streamOpened = server.nextStream();
    client.setTransports(["sse"]);
    expect(first.closedWith?.code).toBe(1000);
    const stream = await within(streamOpened, "the SSE stream");
    stream.event(sseHello());
    await within(waitOpen(client), "open over SSE");
    expect(client.stats().transport).toBe("sse");
    const resubscribe = await postedMessage(server, "subscribe", "t");
    expect(resubscribe.since).toEqual({ offset: 1, epoch: "e1" });

    client.setTransports(["websocket", "sse"]);
    await within(stream.gone, "the stream let go");
    const again = await within(sockets.nth(1), "a WebSocket again");
    again.accept();
    expect(client.stats().transport).toBe("websocket");
    expect(again.ofType("subscribe")[0]).toMatchObject({ since: { offset: 1, epoch: "e1" } });
    // Choosing again while already on the first choice changes nothing.
    client.setTransports(["websocket"]);
    expect(client.status).toBe("open");
    expect(() => client.setTransports(["carrier-pigeon" as "sse"])).toThrow(TypeError);
  });
});

describe("the JSON codec", () => {
  it("refuses binary data in publish and request with a TypeError naming the codec option", async () => {
    const { client } = await setup({ lazy: true });
    await expect(client.publish("t", { blob: new Uint8Array(1) })).rejects.toThrow(
      /publish to "t" holds binary data .* codec: "msgpack"/,
    );
    await expect(client.request("m", [new Uint8Array(1)])).rejects.toBeInstanceOf(TypeError);
    expect(client.status).toBe("idle");
  });

  it("offers MessagePack first, and rejects binary data on a connection the server kept on JSON", async () => {
    const { client, sockets } = await setup({ codec: "msgpack", transports: ["websocket"] });
    const socket = await within(sockets.nth(0), "the socket");
    expect(socket.protocols).toEqual(["lifeline.v1.msgpack", "lifeline.v1"]);
    socket.accept();
    expect(client.stats().codec).toBe("json");
    await expect(client.publish("t", new Uint8Array(3))).rejects.toMatchObject({
      code: "invalid_message",
      message: expect.stringMatching(/uses JSON .* binary data cannot be sent/),
    });
    const text = client.publish("t", "text");
    expect(socket.ofType("publish")).toEqual([expect.objectContaining({ data: "text" })]);
    const { id } = socket.ofType("publish")[0] as { id: string };
    socket.receive({
      type: "response",
      id,
      ok: true,
      result: { topic: "t", offset: 1, epoch: "e" },
    });
    await expect(text).resolves.toMatchObject({ offset: 1 });
  });

  it("refuses an unknown codec and transports up front", () => {
    expect(() => createClient({ url: "ws://x/ws", codec: "cbor" as "json", lazy: true })).toThrow(
      /"codec" to be "json" or "msgpack"/,
    );
    expect(() => createClient({ url: "ws://x/ws", transports: [], lazy: true })).toThrow(
      /"transports"/,
    );
  });
});
