import { MSGPACK_SUBPROTOCOL, SUBPROTOCOL } from "@lifeline/protocol";
import { encodeMessagePack } from "@lifeline/protocol/msgpack";
import { describe, expect, it } from "vitest";
import {
  containsBinary,
  jsonCodec,
  loadMessagePack,
  messagePackCodec,
  negotiatedCodec,
  offeredProtocols,
  refuseBinaryUnderJson,
} from "../../src/transport/codec.js";

const publish = (data: unknown) => ({ type: "publish", id: "p1", topic: "t", data }) as const;

describe("codec", () => {
  it("offers MessagePack first and JSON as the fallback, JSON alone otherwise", () => {
    expect(offeredProtocols("msgpack")).toEqual([MSGPACK_SUBPROTOCOL, SUBPROTOCOL]);
    expect(offeredProtocols("json")).toEqual([SUBPROTOCOL]);
  });

  it("uses the codec of the subprotocol the server picked", async () => {
    const json = jsonCodec(1000);
    const msgpack = messagePackCodec(await loadMessagePack(), 1000);
    expect(negotiatedCodec(MSGPACK_SUBPROTOCOL, { json, msgpack })).toBe(msgpack);
    expect(negotiatedCodec(SUBPROTOCOL, { json, msgpack })).toBe(json);
    // A server that picked none (an old one) speaks JSON; so does SSE.
    expect(negotiatedCodec("", { json, msgpack })).toBe(json);
    expect(negotiatedCodec(MSGPACK_SUBPROTOCOL, { json })).toBe(json);
  });

  it("round-trips binary data through MessagePack frames", async () => {
    const codec = messagePackCodec(await loadMessagePack(), 1 << 20);
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const frame = codec.encode(publish({ blob: bytes }));
    expect(frame).toBeInstanceOf(Uint8Array);
    const incoming = encodeMessagePack({
      type: "message",
      topic: "t",
      offset: 1,
      epoch: "e",
      ts: 1,
      data: { blob: bytes },
    });
    const parsed = codec.parse(incoming.buffer.slice(0));
    expect(parsed.ok && parsed.message.type === "message" && parsed.message.data).toEqual({
      blob: bytes,
    });
  });

  it("refuses a MessagePack frame over its byte bound, and a text frame, without throwing", async () => {
    const codec = messagePackCodec(await loadMessagePack(), 16);
    const small = encodeMessagePack({ type: "pong" } as never);
    expect(codec.parse(new Uint8Array(32)).ok).toBe(false);
    expect(codec.parse('{"type":"pong"}')).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/binary frame, got a text frame/) },
    });
    expect(codec.parse(small).ok).toBe(true);
  });

  it("encodes JSON as before and refuses binary only where the client asked for MessagePack", () => {
    expect(jsonCodec(100).encode(publish({ a: 1 }))).toBe(
      '{"type":"publish","id":"p1","topic":"t","data":{"a":1}}',
    );
    const guarded = jsonCodec(100, true);
    expect(() => guarded.encode(publish([new Uint8Array(1)]))).toThrow(
      /uses JSON .*fell back to SSE.*binary data cannot be sent/,
    );
    expect(() =>
      guarded.encode({ type: "request", id: "r", method: "m", params: { b: new Uint8Array(1) } }),
    ).toThrow(TypeError);
    expect(guarded.encode(publish("text"))).toBe(
      '{"type":"publish","id":"p1","topic":"t","data":"text"}',
    );
  });

  it("finds binary anywhere in a value, and refuses it under the JSON codec with the option named", () => {
    expect(containsBinary({ a: [1, { b: new Uint8Array(0) }] })).toBe(true);
    expect(containsBinary(new ArrayBuffer(1))).toBe(true);
    expect(containsBinary(new DataView(new ArrayBuffer(1)))).toBe(true);
    expect(containsBinary({ a: [1, "x", null, { b: true }] })).toBe(false);
    expect(containsBinary("bytes")).toBe(false);
    expect(() => refuseBinaryUnderJson("json", { b: new Uint8Array(1) }, 'publish to "t"')).toThrow(
      'publish to "t" holds binary data (a Uint8Array), which the JSON codec cannot carry: create the client with codec: "msgpack"',
    );
    expect(() => refuseBinaryUnderJson("msgpack", new Uint8Array(1), "x")).not.toThrow();
  });
});
