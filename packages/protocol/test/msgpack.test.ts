import { encode } from "@msgpack/msgpack";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { type ClientMessage, ErrorCode, serializeMessage } from "../src/index.js";
import {
  encodeMessagePack,
  parseClientMessagePack,
  parseServerMessagePack,
} from "../src/msgpack.js";
import { validClientMessages, validServerMessages } from "./fixtures.js";

describe("the MessagePack codec", () => {
  test.each(validClientMessages.map((m) => [m.type, m] as const))(
    "round-trips a client %s",
    (_type, message) => {
      const parsed = parseClientMessagePack(encodeMessagePack(message));
      expect(parsed).toEqual({ ok: true, message });
    },
  );

  test.each(validServerMessages.map((m) => [m.type, m] as const))(
    "round-trips a server %s",
    (_type, message) => {
      const parsed = parseServerMessagePack(encodeMessagePack(message));
      expect(parsed).toEqual({ ok: true, message });
    },
  );

  test("carries binary data as bytes, anywhere in a payload", () => {
    const data = { frame: new Uint8Array([0, 1, 254, 255]), nested: [new Uint8Array(3)] };
    const parsed = parseClientMessagePack(
      encodeMessagePack({ type: "publish", id: "p-1", topic: "a", data }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok || parsed.message.type !== "publish") throw new Error("not a publish");
    const got = parsed.message.data as { frame: Uint8Array; nested: Uint8Array[] };
    expect(got.frame).toBeInstanceOf(Uint8Array);
    expect([...got.frame]).toEqual([0, 1, 254, 255]);
    expect(got.nested[0]).toEqual(new Uint8Array(3));
  });

  test("sends a required payload that is undefined as null, as the JSON codec does", () => {
    const parsed = parseClientMessagePack(
      encodeMessagePack({ type: "publish", id: "p-1", topic: "a", data: undefined }),
    );
    expect(parsed).toEqual({
      ok: true,
      message: { type: "publish", id: "p-1", topic: "a", data: null },
    });
  });

  test("drops an undefined optional field instead of sending nil", () => {
    // As a JavaScript caller may build it, whatever exactOptionalPropertyTypes says.
    const message = { type: "subscribe", id: "s-1", topic: "a", since: undefined };
    expect(parseClientMessagePack(encodeMessagePack(message as ClientMessage))).toEqual({
      ok: true,
      message: { type: "subscribe", id: "s-1", topic: "a" },
    });
  });

  // Short decimals ("12.5") are the one numeric case where JSON text is smaller: a float
  // takes 9 bytes in MessagePack. Sensor counts and full-precision doubles are not.
  test.each([
    ["integer sensor counts", (i: number) => Math.round(Math.sin(i) * 30_000)],
    ["full-precision doubles", (i: number) => Math.sin(i) * 1e3],
  ])("encodes 4 KB of %s in fewer bytes than JSON", (_name, sample) => {
    const samples: number[] = [];
    const message = {
      type: "message",
      topic: "telemetry/mount-1",
      offset: 1041,
      epoch: "e-19c2a7",
      data: { samples },
      ts: 1_764_000_000_000,
    } as const;
    for (let i = 0; Buffer.byteLength(serializeMessage(message)) < 4096; i += 1) {
      samples.push(sample(i));
    }
    const json = Buffer.byteLength(serializeMessage(message));
    expect(encodeMessagePack(message).byteLength).toBeLessThan(json * 0.8);
  });

  test("accepts a frame in fragments and as an ArrayBuffer", () => {
    const bytes = encodeMessagePack({ type: "ping" });
    const half = Math.floor(bytes.byteLength / 2);
    expect(parseClientMessagePack([bytes.subarray(0, half), bytes.subarray(half)])).toEqual({
      ok: true,
      message: { type: "ping" },
    });
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    expect(parseClientMessagePack(buffer).ok).toBe(true);
  });

  test("refuses a Date with a clear error instead of sending an empty map", () => {
    expect(() =>
      encodeMessagePack({ type: "publish", id: "p", topic: "a", data: { at: new Date(0) } }),
    ).toThrow(/Date cannot be sent with the MessagePack codec/);
  });
});

describe("the MessagePack codec, given garbage", () => {
  const refused = (result: ReturnType<typeof parseClientMessagePack>) => {
    expect(result.ok).toBe(false);
    if (result.ok) throw new Error("accepted");
    return result.error;
  };

  test("refuses a text frame", () => {
    expect(refused(parseClientMessagePack('{"type":"ping"}')).message).toBe(
      "expected a MessagePack binary frame, got a text frame",
    );
  });

  test("refuses bytes that do not decode, naming why", () => {
    const error = refused(parseClientMessagePack(new Uint8Array([0xc1])));
    expect(error.code).toBe(ErrorCode.InvalidMessage);
    expect(error.message).toMatch(/^expected one MessagePack value, got bytes that do not decode/);
  });

  test("refuses a frame over the size cap before decoding it", () => {
    const big = encode({ type: "publish", id: "p", topic: "a", data: "x".repeat(2000) });
    expect(refused(parseClientMessagePack(big, { maxBytes: 1000 })).message).toBe(
      `expected at most 1000 bytes, got ${big.byteLength}`,
    );
  });

  test("refuses an array header that claims more elements than the frame can hold", () => {
    // array32 claiming 2^32-1 elements, then nothing.
    const lie = new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]);
    expect(refused(parseClientMessagePack(lie)).message).toMatch(/do not decode/);
  });

  test("refuses extension types, including the built-in timestamp", () => {
    const timestamp = encode(new Date(0)); // encoded with the library's default codec
    expect(refused(parseClientMessagePack(timestamp)).message).toMatch(
      /extension type -1 is not part of the protocol/,
    );
  });

  test("refuses a __proto__ key without touching any prototype", () => {
    // fixmap of 2: "__proto__" -> {polluted: 1}, "type" -> "ping"
    const evil = Uint8Array.from([
      0x82,
      0xa9,
      ...Buffer.from("__proto__"),
      0x81,
      0xa8,
      ...Buffer.from("polluted"),
      0x01,
      0xa4,
      ...Buffer.from("type"),
      0xa4,
      ...Buffer.from("ping"),
    ]);
    expect(refused(parseClientMessagePack(evil)).message).toMatch(/__proto__/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("validates after decoding, with the JSON codec's errors", () => {
    const error = refused(parseClientMessagePack(encode({ type: "subscribe", id: "s", topic: 7 })));
    expect(error).toMatchObject({ code: ErrorCode.InvalidMessage, path: "/topic", id: "s" });
  });

  test("never throws, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        const result = parseClientMessagePack(bytes);
        return result.ok
          ? typeof result.message.type === "string"
          : result.error.message.length > 0;
      }),
      { numRuns: 2000 },
    );
  });
});
