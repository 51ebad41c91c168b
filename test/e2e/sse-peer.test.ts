import { createServer, type LifelineServer, type ServerOptions } from "@lifeline/server";
import {
  connect,
  createDisposer,
  createFakeClock,
  ofType,
  type TestClient,
} from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import {
  type PeerEvent,
  type PythonPeer,
  skipWithoutPython,
  startPythonPeer,
} from "./python-peer.js";

// An independent peer of the HTTP fallback: sse_peer.py, written in Python from
// PROTOCOL.md alone (http.client, its own event-stream parser), against the TypeScript
// server, with a client on the JSON WebSocket wire on the same topic.

const topic = "lab/readings";
const disposer = createDisposer();
afterEach(() => disposer.run());

async function start(options: Partial<ServerOptions<unknown>> = {}): Promise<LifelineServer> {
  const server = await createServer({ port: 0, logger: false, authorize: () => true, ...options });
  server.method("echo", (params) => params);
  disposer.add(() => server.close({ drainTimeoutMs: 200 }));
  return server;
}

function peerOf(server: LifelineServer, clientId = "py-sse"): PythonPeer {
  const peer = startPythonPeer("sse_peer.py", [String(server.port), topic, clientId]);
  disposer.add(() => peer.kill());
  return peer;
}

async function wsClient(server: LifelineServer, clientId: string): Promise<TestClient> {
  const client = await connect(server, clientId);
  disposer.add(() => client.close());
  client.send({ type: "subscribe", id: "s1", topic });
  await client.next(ofType("subscribed"), "the WebSocket client's subscribed");
  return client;
}

const is =
  (event: string, fields: Record<string, unknown> = {}) =>
  (e: PeerEvent): boolean =>
    e.event === event && Object.entries(fields).every(([k, v]) => e[k] === v);

/** Publishes over the WebSocket client and returns the offset the server acknowledged. */
async function publishFromWs(client: TestClient, id: string, data: unknown): Promise<number> {
  client.send({ type: "publish", id, topic, data });
  const ack = await client.next(
    ofType("response", (m) => m.id === id),
    `ack of ${id}`,
  );
  expect(ack.ok).toBe(true);
  return (ack.result as { offset: number }).offset;
}

describe.skipIf(skipWithoutPython())("an independent Python peer over SSE", () => {
  it("subscribes, publishes, requests, answers pings and resumes as PROTOCOL.md says", async () => {
    const clock = createFakeClock();
    const server = await start({ clock, heartbeat: { intervalMs: 1000, timeoutMs: 1000 } });
    const ws = await wsClient(server, "ts-json");
    const peer = peerOf(server);

    const stream = await peer.next(is("stream"), "the stream's answer");
    expect(stream.content_type).toBe("text/event-stream; charset=utf-8");
    const hello = await peer.next(is("hello"), "hello on the stream");
    expect(hello).toMatchObject({ client_id: "py-sse", comments: ["ok"] });
    // Features are the server's: msgpack (its WebSocket endpoint) is announced here too.
    expect(hello.features).toEqual(
      expect.arrayContaining(["sse", "msgpack", "topics", "resume", "rpc"]),
    );
    expect(hello.key_length).toBeGreaterThanOrEqual(22);
    const subscribed = await peer.next(is("subscribed", { id: "sub-1" }), "subscribed");
    expect(subscribed).toMatchObject({ topic, recovered: true, replayed: 0 });

    // A WebSocket client publishes; the SSE peer receives it.
    const first = await publishFromWs(ws, "t1", { reading: 1, unit: "°C" });
    const got = await peer.next(is("message", { offset: first }), "the WebSocket publish");
    expect(got.data).toEqual({ reading: 1, unit: "°C" });

    // The SSE peer publishes; the WebSocket client receives it, once.
    peer.command({ do: "publish", id: "p-1", data: { from: "python", n: [1, 2] } });
    const ack = await peer.next(is("response", { id: "p-1" }), "the peer's publish ack");
    expect(ack).toMatchObject({ ok: true, result: { topic, offset: first + 1 } });
    const delivered = await ws.next(
      ofType("message", (m) => m.offset === first + 1),
      "p-1",
    );
    expect(delivered.data).toEqual({ from: "python", n: [1, 2] });

    // A request, answered on the stream.
    peer.command({ do: "request", id: "r-1", method: "echo", params: { hi: 1, list: [1, "a"] } });
    const echo = await peer.next(is("response", { id: "r-1" }), "the echo");
    expect(echo).toMatchObject({ ok: true, result: { hi: 1, list: [1, "a"] } });

    // Heartbeat: three intervals (past interval + timeout), each ping answered by a pong post.
    for (let beat = 1; beat <= 3; beat += 1) {
      const seen = peer.events.length;
      clock.advance(1000);
      expect(await peer.next(is("ping"), `ping ${beat}`, seen)).toMatchObject({ answered: 204 });
    }
    expect(server.connections().map((c) => c.clientId)).toContain("py-sse");

    // Dropped stream; two messages while away; a new stream resumes with `since`.
    peer.command({ do: "disconnect" });
    await peer.next(is("disconnected"), "the drop");
    const missed = [
      await publishFromWs(ws, "t2", { reading: 2 }),
      await publishFromWs(ws, "t3", { reading: 3 }),
    ];
    peer.command({ do: "connect" });
    const resumed = await peer.next(is("subscribed", { id: "sub-2" }), "the resumed subscribe");
    expect(resumed).toMatchObject({ recovered: true, replayed: 2 });
    const replayed = peer.events.filter(
      (e) => e.event === "message" && missed.includes(e.offset as number),
    );
    expect(replayed.map((e) => e.data)).toEqual([{ reading: 2 }, { reading: 3 }]);

    // The publish sent again with its id (an unseen ack, say) is acknowledged, not appended.
    peer.command({ do: "publish", id: "p-1", data: { from: "python", n: [1, 2] } });
    const again = await peer.next(
      is("response", { id: "p-1" }),
      "the retry's ack",
      peer.events.indexOf(resumed),
    );
    expect(again.result).toEqual(ack.result);
    const last = await publishFromWs(ws, "t4", { reading: 4 });
    await peer.next(is("message", { offset: last }), "t4 on the stream");
    const offsets = ws.received.filter((m) => m.type === "message").map((m) => m.offset);
    expect(offsets).toEqual([first, first + 1, ...missed, last]);
    expect(peer.events.filter((e) => e.event === "duplicate")).toEqual([]);

    expect(await peer.stop()).toBe(0);
    expect(peer.events.filter((e) => e.event === "error")).toEqual([]);
  });

  it("gets the documented answers to bad posts, and the close event on shutdown", async () => {
    const server = await start();
    const peer = peerOf(server, "py-bad");
    await peer.next(is("subscribed", { id: "sub-1" }), "subscribed");

    peer.command({ do: "post", body: '{"type":"ping"}', key: "AAAAAAAAAAAAAAAAAAAAAA" });
    const wrongKey = await peer.next(is("posted"), "a post with a wrong key");
    expect(wrongKey.status).toBe(404);
    expect(JSON.parse(wrongKey.body as string)).toMatchObject({ code: 404 });

    let seen = peer.events.length;
    peer.command({ do: "post", body: "not json" });
    const garbage = await peer.next(is("posted"), "a post that is not JSON", seen);
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body as string)).toMatchObject({ code: 400 });

    seen = peer.events.length;
    peer.command({ do: "post", body: '[{"type":"subscribe","id":"bad"},{"type":"ping"}]' });
    expect(await peer.next(is("posted"), "an invalid message", seen)).toMatchObject({
      status: 204,
    });
    const refused = await peer.next(is("response", { id: "bad" }), "its answer on the stream");
    expect(refused).toMatchObject({ ok: false, error: { code: "invalid_message" } });
    await peer.next(is("pong"), "the next message of the body, handled after it", seen);

    await server.close({ drainTimeoutMs: 200 });
    const shutdown = await peer.next(is("shutdown"), "shutdown on the stream");
    expect(shutdown.reconnect_after_ms).toEqual(expect.any(Number));
    expect(await peer.next(is("close"), "the close event")).toMatchObject({ code: 1012 });
    expect(peer.events.filter((e) => e.event === "error")).toEqual([]);
  });

  it("reads a refused handshake as a stream that carries only the close event", async () => {
    const server = await start();
    const peer = peerOf(server, "not a valid id");
    expect(await peer.next(is("stream"), "the stream's answer")).toMatchObject({ status: 200 });
    expect(await peer.next(is("close"), "the close event")).toMatchObject({ code: 4400 });
    expect(peer.events.map((e) => e.event)).toEqual(["stream", "close"]);
  });

  it("is replaced by a newer stream of its client_id, which ends it with close 4409", async () => {
    const server = await start();
    const first = peerOf(server, "py-twice");
    await first.next(is("subscribed"), "the first stream's subscribed");
    const second = peerOf(server, "py-twice");
    await second.next(is("subscribed"), "the second stream's subscribed");
    expect(await first.next(is("close"), "the first stream's close event")).toMatchObject({
      code: 4409,
    });
    expect(await second.stop()).toBe(0);
  });
});
