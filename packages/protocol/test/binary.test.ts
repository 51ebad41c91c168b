import { describe, expect, test } from "vitest";
import { containsBinary } from "../src/index.js";
import { decodeMessagePackValue, encodeMessagePackValue } from "../src/msgpack.js";

describe("containsBinary", () => {
  test("finds bytes at any depth, in objects and arrays, Buffers included", () => {
    expect(containsBinary(new Uint8Array(1))).toBe(true);
    expect(containsBinary({ a: [{ b: Buffer.from("x") }] })).toBe(true);
    expect(containsBinary([1, [2, [new Uint8Array(0)]]])).toBe(true);
  });

  test("answers false for JSON data, and for bytes past 64 levels", () => {
    expect(containsBinary({ a: [1, "x", null, { b: true }] })).toBe(false);
    expect(containsBinary(undefined)).toBe(false);
    let deep: unknown = new Uint8Array(1);
    for (let i = 0; i < 70; i += 1) deep = { deep };
    expect(containsBinary(deep)).toBe(false);
  });
});

describe("MessagePack values outside messages", () => {
  test("round-trip data with bytes, which come back as a Uint8Array", () => {
    const data = { id: 7, raw: Buffer.from([0, 10, 255]), nested: [{ at: 1.5 }, null, "x"] };
    const decoded = decodeMessagePackValue(encodeMessagePackValue(data));
    expect(decoded).toEqual({
      ok: true,
      value: { id: 7, raw: new Uint8Array([0, 10, 255]), nested: [{ at: 1.5 }, null, "x"] },
    });
  });

  test("refuse what the data model does not have", () => {
    expect(() => encodeMessagePackValue({ at: new Date() })).toThrow(TypeError);
    expect(decodeMessagePackValue(Uint8Array.of(0xc1)).ok).toBe(false);
    expect(decodeMessagePackValue("a string").ok).toBe(false);
    // A timestamp extension (type -1) is not part of the data model.
    expect(decodeMessagePackValue(Uint8Array.of(0xd6, 0xff, 0, 0, 0, 1)).ok).toBe(false);
  });

  test("bound the input by maxBytes", () => {
    const bytes = encodeMessagePackValue({ pad: "x".repeat(100) });
    expect(decodeMessagePackValue(bytes, { maxBytes: 50 })).toMatchObject({
      ok: false,
      error: { code: "invalid_message" },
    });
    expect(decodeMessagePackValue(bytes, { maxBytes: bytes.byteLength }).ok).toBe(true);
  });
});
