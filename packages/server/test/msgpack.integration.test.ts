import { encode } from "@msgpack/msgpack";
import { afterEach, describe, expect, it } from "vitest";
import {
  captureLogs,
  connectWebSocket,
  createDisposer,
  createFakeClock,
  ofType,
  serverClosedAfterEach,
  type TestClient,
  within,
} from "./helpers.js";
import { openPackClient, plainBytes } from "./msgpack-client.js";

const disposer = createDisposer();
afterEach(() => disposer.run());
const server = serverClosedAfterEach(disposer);

async function packClient(
  s: { readonly port: number },
  clientId: string,
  protocols?: string[],
): ReturnType<typeof openPackClient> {
  const client = await openPackClient(s, clientId, protocols);
  disposer.add(() => client.close());
  return client;
}

/** A client on the JSON wire, whatever wire the run speaks: this file compares the two. */
async function jsonClient(
  s: { readonly port: number },
  clientId: string,
): ReturnType<typeof connectWebSocket> {
  const client = await connectWebSocket(s, clientId);
  disposer.add(() => client.close());
  return client;
}

/** The connection still answers: a ping gets its pong. */
async function stillOpen(client: TestClient): Promise<void> {
  client.send({ type: "ping" });
  expect(await client.next(ofType("pong"), "pong")).toEqual({ type: "pong" });
}

describe("MessagePack wire: negotiation", () => {
  it("serves lifeline.v1.msgpack when the client lists it first, and announces msgpack", async () => {
    const s = await server();
    const c = await packClient(s, "pack");
    expect(c.ws.protocol).toBe("lifeline.v1.msgpack");
    expect(c.hello).toMatchObject({ type: "hello", client_id: "pack", accepted_version: 1 });
    expect(c.hello.features).toContain("msgpack");
    expect(s.connections()[0]).toBeDefined();
    expect(s.stats().connections.byWire).toEqual([
      { transport: "websocket", codec: "msgpack", active: 1, total: 1 },
    ]);
  });

  it("picks the first subprotocol in the client's list that it speaks", async () => {
    const s = await server();
    const json = await packClient(s, "json-first", [
      "x.unknown",
      "lifeline.v1",
      "lifeline.v1.msgpack",
    ]);
    expect(json.ws.protocol).toBe("lifeline.v1");
    // The hello came as a text frame: the JSON wire.
    expect(json.hello.textFrame).toBe(true);
    const pack = await packClient(s, "pack-second", ["x.unknown", "lifeline.v1.msgpack"]);
    expect(pack.ws.protocol).toBe("lifeline.v1.msgpack");
  });
});

describe("MessagePack wire: round trips", () => {
  it("subscribes, publishes and receives, bytes in data included", async () => {
    const s = await server({ authorize: () => true });
    const c = await packClient(s, "rt");
    c.send({ type: "subscribe", id: "s1", topic: "t" });
    expect(await c.next(ofType("subscribed"))).toMatchObject({ id: "s1", topic: "t", offset: 0 });
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    c.send({ type: "publish", id: "p1", topic: "t", data: { raw: bytes, n: 1.5, s: "é" } });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "p1",
      ok: true,
      result: { topic: "t", offset: 1 },
    });
    const message = await c.next(ofType("message"));
    expect(message.textFrame).toBeUndefined();
    expect(message).toMatchObject({ topic: "t", offset: 1, data: { n: 1.5, s: "é" } });
    expect(plainBytes((message.data as { raw: unknown }).raw)).toEqual(bytes);
  });

  it("answers requests, with bytes in params and result", async () => {
    const s = await server();
    s.method("echo", (params) => ({ echoed: params }));
    const c = await packClient(s, "rpc");
    const bytes = new Uint8Array([9, 8, 7]);
    c.send({ type: "request", id: "r1", method: "echo", params: { bytes } });
    const response = await c.next(ofType("response"));
    expect(response).toMatchObject({ id: "r1", ok: true });
    expect(plainBytes((response.result as { echoed: { bytes: unknown } }).echoed.bytes)).toEqual(
      bytes,
    );
    c.send({ type: "request", id: "r2", method: "missing" });
    expect(await c.next(ofType("response", (m) => m.id === "r2"))).toMatchObject({
      ok: false,
      error: { code: "unknown_method" },
    });
  });

  it("gives mixed JSON and MessagePack subscribers of one topic each their own frames", async () => {
    const s = await server();
    const packs = [await packClient(s, "p1"), await packClient(s, "p2")];
    const jsons = [await jsonClient(s, "j1"), await jsonClient(s, "j2")];
    for (const c of [...packs, ...jsons]) {
      c.send({ type: "subscribe", id: "s", topic: "mixed" });
      await c.next(ofType("subscribed"));
    }
    const bytes = new Uint8Array([104, 105]);
    await s.publish("mixed", { text: "hi", bytes });
    for (const p of packs) {
      const m = await p.next(ofType("message"));
      expect(m).toMatchObject({ topic: "mixed", offset: 1, data: { text: "hi" } });
      expect(plainBytes((m.data as { bytes: unknown }).bytes)).toEqual(bytes);
    }
    for (const j of jsons) {
      // JSON has no bytes: they come as base64 (PROTOCOL.md, "MessagePack wire").
      expect(await j.next(ofType("message"))).toMatchObject({
        topic: "mixed",
        offset: 1,
        data: { text: "hi", bytes: "aGk=" },
      });
    }
    expect(s.stats().broadcasts).toMatchObject({ count: 1, deliveries: 4 });
  });

  it("sends the heartbeat as a ping frame and a MessagePack app ping", async () => {
    const clock = createFakeClock();
    const s = await server({ clock, heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    const c = await packClient(s, "beat");
    const frame = new Promise((resolve) => c.ws.once("ping", resolve));
    clock.advance(1000);
    await within(frame, "ping frame");
    expect(await c.next(ofType("ping"))).toEqual({ type: "ping" });
  });

  it("sends the heartbeat through ws when permessage-deflate is on", async () => {
    const clock = createFakeClock();
    const s = await server({
      clock,
      perMessageDeflate: true,
      heartbeat: { intervalMs: 1000, timeoutMs: 500 },
    });
    const c = await packClient(s, "beat-deflate");
    expect(c.ws.extensions).toContain("permessage-deflate");
    const frame = new Promise((resolve) => c.ws.once("ping", resolve));
    clock.advance(1000);
    await within(frame, "ping frame");
    expect(await c.next(ofType("ping"))).toEqual({ type: "ping" });
  });
});

describe("MessagePack wire: bad input is answered, the connection stays", () => {
  it("refuses a text frame on a MessagePack connection", async () => {
    const s = await server();
    const c = await packClient(s, "text");
    c.ws.send('{"type":"ping"}');
    const error = await c.next(ofType("error"));
    expect(error).toMatchObject({ code: "invalid_message" });
    expect(error.message).toMatch(/expected a MessagePack binary frame.*got a text frame/);
    await stillOpen(c);
  });

  it("refuses a binary frame on a JSON connection, naming the MessagePack subprotocol", async () => {
    const s = await server();
    const c = await jsonClient(s, "binary");
    c.ws.send(Buffer.from(encode({ type: "ping" })));
    const error = await c.next(ofType("error"));
    expect(error).toMatchObject({ code: "invalid_message" });
    expect(error.message).toContain("lifeline.v1.msgpack");
    c.send({ type: "ping" });
    expect(await c.next(ofType("pong"))).toEqual({ type: "pong" });
  });

  it("answers bytes that do not decode, and values that are not a message", async () => {
    const s = await server();
    const c = await packClient(s, "garbage");
    // 0xc1 is the one byte MessagePack never uses; 0xdb announces a 4 GB string; then a
    // truncated array, trailing bytes, a map keyed by nil, and an extension type (-1).
    const frames = [
      [0xc1],
      [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61],
      [0x92, 0x01],
      [0x80, 0x00],
      [0x81, 0xc0, 0x01],
      [0xd4, 0xff, 0x00],
    ];
    for (const raw of frames) {
      c.ws.send(Buffer.from(raw));
      expect(await c.next(ofType("error"))).toMatchObject({ code: "invalid_message" });
    }
    c.ws.send(Buffer.from(encode(42)));
    expect(await c.next(ofType("error"))).toMatchObject({ code: "invalid_message" });
    c.send({ type: "subscribe", id: "bad", topic: 7 });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "bad",
      ok: false,
      error: { code: "invalid_message" },
    });
    c.send({ type: "nope" });
    expect(await c.next(ofType("error"))).toMatchObject({ code: "unknown_type" });
    await stillOpen(c);
    expect(s.stats().connections.active).toBe(1);
  });
});

describe("MessagePack wire: observability", () => {
  it("labels connections by transport and codec in metrics and logs", async () => {
    const logs = captureLogs();
    const s = await server({ logger: logs.logger });
    const c = await packClient(s, "seen");
    await jsonClient(s, "seen-json");
    const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    expect(metrics).toMatch(
      /^lifeline_transport_connections\{transport="websocket",codec="msgpack"\} 1$/m,
    );
    expect(metrics).toMatch(
      /^lifeline_transport_connections\{transport="websocket",codec="json"\} 1$/m,
    );
    expect(metrics).toMatch(/^lifeline_connections 2$/m);
    const accepted = await logs.waitFor(
      (l) => l.msg === "connection accepted" && l.client_id === "seen",
    );
    expect(accepted).toMatchObject({ transport: "websocket", codec: "msgpack" });
    await c.close();
    const closed = await logs.waitFor(
      (l) => l.msg === "connection closed" && l.client_id === "seen",
    );
    expect(closed).toMatchObject({ transport: "websocket", codec: "msgpack" });
    expect(s.stats().connections.byWire).toContainEqual({
      transport: "websocket",
      codec: "msgpack",
      active: 0,
      total: 1,
    });
  });
});
