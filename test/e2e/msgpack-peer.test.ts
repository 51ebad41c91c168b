import { encodeMessagePack, parseServerMessagePack } from "@lifeline/protocol/msgpack";
import { createServer, type LifelineServer } from "@lifeline/server";
import {
  type ClientCodec,
  connect,
  connectSse,
  createDisposer,
  createFakeClock,
  type Message,
  ofType,
  type TestClient,
} from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { type PeerEvent, skipWithoutPython, startPythonPeer } from "./python-peer.js";

// An independent peer of the MessagePack wire: msgpack_peer.py, written in Python from
// PROTOCOL.md alone (its own WebSocket and its own MessagePack), against the TypeScript
// server, with a TypeScript client on each of the other wires (MessagePack and JSON
// WebSocket, SSE) on the same topic.

const topic = "lab/telemetry";
const disposer = createDisposer();
afterEach(() => disposer.run());

/** The TypeScript side of the MessagePack wire: @lifeline/protocol's codec. */
const packCodec: ClientCodec = {
  protocols: ["lifeline.v1.msgpack", "lifeline.v1"],
  decode(data, isBinary) {
    if (!isBinary) throw new Error(`a text frame on the MessagePack wire: ${data.toString()}`);
    // A plain copy, so bytes in the message compare as Uint8Array, not as Buffer views.
    const parsed = parseServerMessagePack(new Uint8Array(data));
    if (!parsed.ok) throw new Error(parsed.error.message);
    return parsed.message as unknown as Message;
  },
  encode: (message) => encodeMessagePack(message as Parameters<typeof encodeMessagePack>[0]),
};

async function subscriber(
  server: LifelineServer,
  clientId: string,
  codec?: ClientCodec,
): Promise<TestClient> {
  const client = await connect(server, clientId, "", {}, codec);
  disposer.add(() => client.close());
  client.send({ type: "subscribe", id: "s1", topic });
  await client.next(ofType("subscribed"), `${clientId} subscribed`);
  return client;
}

const is =
  (event: string, fields: Record<string, unknown> = {}) =>
  (e: PeerEvent): boolean =>
    e.event === event && Object.entries(fields).every(([k, v]) => e[k] === v);

const bin = (hex: string) => ({ $bin: hex });
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));

describe.skipIf(skipWithoutPython())("an independent Python peer over MessagePack", () => {
  it("negotiates the wire, publishes and receives bytes, requests, as PROTOCOL.md says", async () => {
    const clock = createFakeClock();
    const server = await createServer({
      port: 0,
      logger: false,
      authorize: () => true,
      clock,
      heartbeat: { intervalMs: 1000, timeoutMs: 1000 },
    });
    disposer.add(() => server.close({ drainTimeoutMs: 200 }));
    server.method("echo", (params) => params);
    const pack = await subscriber(server, "ts-pack", packCodec);
    const json = await subscriber(server, "ts-json");
    const sse = await connectSse(server, "ts-sse");
    disposer.add(() => sse.close());
    await sse.send({ type: "subscribe", id: "s1", topic });
    await sse.next(ofType("subscribed"), "ts-sse subscribed");
    const peer = startPythonPeer("msgpack_peer.py", [String(server.port), topic, "py-pack"]);
    disposer.add(() => peer.kill());

    const hello = await peer.next(is("hello"), "hello");
    expect(hello).toMatchObject({ protocol: "lifeline.v1.msgpack", frame: "binary" });
    // Features are the server's: the HTTP fallback is announced here too.
    expect(hello.features).toEqual(expect.arrayContaining(["msgpack", "sse"]));
    await peer.next(is("subscribed", { id: "sub-1" }), "subscribed");

    // Every type of the wire, bytes included, from Python to both TypeScript wires.
    const data = {
      raw: bin("00ff10807f"),
      n: -129,
      big: 2 ** 40,
      f: 0.1,
      yes: true,
      none: null,
      text: "ünïcode ✓",
      list: [1, "a", bin("01")],
    };
    peer.command({ do: "publish", id: "p-1", data });
    const ack = await peer.next(is("response", { id: "p-1" }), "the publish ack");
    expect(ack).toMatchObject({ ok: true, result: { topic, offset: 1 } });
    const viaPack = await pack.next(
      ofType("message", (m) => m.offset === 1),
      "on msgpack",
    );
    expect(viaPack.data).toEqual({
      ...data,
      raw: bytes("00ff10807f"),
      list: [1, "a", bytes("01")],
    });
    const viaJson = await json.next(
      ofType("message", (m) => m.offset === 1),
      "on JSON",
    );
    const asBase64 = { ...data, raw: "AP8QgH8=", list: [1, "a", "AQ=="] };
    expect(viaJson.data).toEqual(asBase64);
    const viaSse = await sse.next(
      ofType("message", (m) => m.offset === 1),
      "on SSE",
    );
    expect(viaSse.data).toEqual(asBase64);
    // The peer, subscribed too, gets its own message back as it was sent.
    expect((await peer.next(is("message", { offset: 1 }), "its own message")).data).toEqual(data);

    // Numbers are JSON's: an integer past 2^53 arrives as the nearest double.
    // (Written by hand: Python reads 18446744073709551615 as the exact integer 2^64 - 1.)
    peer.command(
      '{"do":"publish","id":"p-2","data":{"huge":18446744073709551615,"exact":9007199254740991}}',
    );
    const rounded = { huge: 2 ** 64, exact: 2 ** 53 - 1 };
    expect(
      (
        await pack.next(
          ofType("message", (m) => m.offset === 2),
          "huge",
        )
      ).data,
    ).toEqual(rounded);
    expect((await peer.next(is("message", { offset: 2 }), "huge, back")).data).toEqual(rounded);

    // Bytes from the TypeScript MessagePack client, and JSON from the JSON client.
    pack.send({ type: "publish", id: "t-1", topic, data: { blob: bytes("010203fa") } });
    const fromPack = await peer.next(is("message", { offset: 3 }), "bytes from TypeScript");
    expect(fromPack.data).toEqual({ blob: bin("010203fa") });
    json.send({ type: "publish", id: "t-2", topic, data: { text: "from JSON" } });
    expect((await peer.next(is("message", { offset: 4 }), "from JSON")).data).toEqual({
      text: "from JSON",
    });

    // A request whose params and result hold bytes.
    const params = { blob: bin("deadbeef"), k: [1.5, -1] };
    peer.command({ do: "request", id: "r-1", method: "echo", params });
    expect(await peer.next(is("response", { id: "r-1" }), "the echo")).toMatchObject({
      ok: true,
      result: params,
    });

    // The application ping, answered by a pong in a binary frame.
    clock.advance(1000);
    await peer.next(is("pong"), "the answered ping");

    expect(await peer.stop()).toBe(0);
    expect(peer.events.filter((e) => e.event === "error")).toEqual([]);
  });

  it("is answered invalid_message for garbage and text frames, and keeps the connection", async () => {
    const server = await createServer({ port: 0, logger: false });
    disposer.add(() => server.close({ drainTimeoutMs: 200 }));
    server.method("echo", (params) => params);
    const peer = startPythonPeer("msgpack_peer.py", [String(server.port), topic, "py-bad"]);
    disposer.add(() => peer.kill());
    await peer.next(is("subscribed", { id: "sub-1" }), "subscribed");

    // The reserved byte, a truncated array, an extension type (a timestamp), a text frame.
    const bad: Record<string, unknown>[] = [
      { do: "raw", hex: "c1" },
      { do: "raw", hex: "9201" },
      { do: "raw", hex: "d6ff00000000" },
      { do: "text", text: '{"type":"ping"}' },
    ];
    for (const command of bad) {
      const seen = peer.events.length;
      peer.command(command);
      const answer = await peer.next(is("server_error"), JSON.stringify(command), seen);
      expect(answer.code).toBe("invalid_message");
    }
    // A request without permission to publish is refused by id: the wire's own answer.
    peer.command({ do: "publish", id: "p-x", data: bin("00") });
    expect(await peer.next(is("response", { id: "p-x" }), "the refused publish")).toMatchObject({
      ok: false,
      error: { code: "forbidden" },
    });
    peer.command({ do: "request", id: "r-1", method: "echo", params: bin("0102") });
    expect(await peer.next(is("response", { id: "r-1" }), "still open")).toMatchObject({
      ok: true,
      result: bin("0102"),
    });
    expect(await peer.stop()).toBe(0);
  });
});
