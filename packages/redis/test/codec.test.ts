import { describe, expect, it } from "vitest";
import { decodeLatest, decodeLive, decodeStream, encodeData } from "../src/codec.js";
import { RedisBrokerErrorCode } from "../src/errors.js";

describe("codec", () => {
  it("decodes a live payload written by the append script", () => {
    expect(decodeLive("t", '7\nep-1\n1700000000123\n{"a":[1,"x\\ny"]}')).toEqual([
      {
        topic: "t",
        offset: 7,
        epoch: "ep-1",
        ts: 1700000000123,
        data: { a: [1, "x\ny"] },
      },
    ]);
  });

  it("decodes a batch's live payload into its entries, in order", () => {
    expect(decodeLive("t", '7\nep\n100\n"a"\n8\nep\n100\nnull')).toEqual([
      { topic: "t", offset: 7, epoch: "ep", ts: 100, data: "a" },
      { topic: "t", offset: 8, epoch: "ep", ts: 100, data: null },
    ]);
  });

  it.each([
    ["empty", ""],
    ["no data line", "7\nep\n123"],
    ["offset not a number", "x\nep\n123\n1"],
    ["offset zero", "0\nep\n123\n1"],
    ["ts not a number", "7\nep\nnow\n1"],
    ["data not JSON", "7\nep\n123\n{"],
    ["a batch's second entry cut short", "7\nep\n123\n1\n8\nep"],
    ["a batch's second entry malformed", "7\nep\n123\n1\n8\nep\n123\n{"],
  ])("ignores a malformed live payload (%s)", (_name, payload) => {
    expect(decodeLive("t", payload)).toBeUndefined();
  });

  it("decodes stream items and skips malformed ones", () => {
    const entries = decodeStream("t", "ep", [
      ["1-0", ["ts", "100", "d", '"a"']],
      ["2-0", ["ts", "101"]],
      ["x-0", ["ts", "102", "d", "1"]],
      ["4-0", ["ts", "103", "d", "{bad"]],
      ["5-0", ["d", "null", "ts", "104"]],
    ]);
    expect(entries).toEqual([
      { topic: "t", offset: 1, epoch: "ep", ts: 100, data: "a" },
      { topic: "t", offset: 5, epoch: "ep", ts: 104, data: null },
    ]);
  });

  it("encodes undefined as null and rejects what JSON cannot carry", () => {
    expect(encodeData("t", undefined)).toBe("null");
    expect(encodeData("t", { n: 1 })).toBe('{"n":1}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeData("t", cyclic)).toThrow(
      expect.objectContaining({ code: RedisBrokerErrorCode.InvalidData }),
    );
  });

  describe("data holding bytes", () => {
    const bytes = new Uint8Array([0, 10, 13, 255]);

    it("is stored as base64 MessagePack behind a marker, on one line", () => {
      const stored = encodeData("t", { raw: bytes, n: 1 });
      expect(stored).toMatch(/^msgpack:[A-Za-z0-9+/]+=*$/);
      // Data without bytes is stored as JSON, as before.
      expect(encodeData("t", { n: 1 })).toBe('{"n":1}');
    });

    it("reads back as bytes from a live payload, the stream and the latest table", () => {
      const stored = encodeData("t", { raw: Buffer.from(bytes), list: [1, "x"] });
      const expected = { raw: bytes, list: [1, "x"] };
      const live = decodeLive("t", `7\nep\n100\n{"a":1}\n8\nep\n100\n${stored}`);
      expect(live?.map((entry) => entry.data)).toEqual([{ a: 1 }, expected]);
      expect(live?.[1]?.data).toMatchObject({ raw: expect.any(Uint8Array) });
      expect(decodeStream("t", "ep", [["3-0", ["ts", "100", "d", stored]]])[0]?.data).toEqual(
        expected,
      );
      expect(decodeLatest("t", "ep", [`4\nep\n100\n${stored}`])[0]?.data).toEqual(expected);
    });

    it("reads entries older versions stored (JSON, bytes flattened by JSON.stringify) as before", () => {
      const old = JSON.stringify({ raw: bytes });
      expect(decodeStream("t", "ep", [["1-0", ["ts", "100", "d", old]]])[0]?.data).toEqual({
        raw: { 0: 0, 1: 10, 2: 13, 3: 255 },
      });
    });

    it("skips a marked value that does not decode, like malformed JSON", () => {
      expect(decodeLive("t", "7\nep\n100\nmsgpack:wQ==")).toBeUndefined();
      expect(decodeLive("t", "7\nep\n100\nmsgpack:")).toBeUndefined();
      expect(decodeStream("t", "ep", [["1-0", ["ts", "100", "d", "msgpack:kgE="]]])).toEqual([]);
    });

    it("refuses what the data model does not have, with the invalid-data code", () => {
      expect(() => encodeData("t", { raw: bytes, at: new Date(0) })).toThrow(
        expect.objectContaining({ code: RedisBrokerErrorCode.InvalidData }),
      );
    });
  });
});
