import { parseServerMessagePack } from "@lifeline/protocol/msgpack";
import { describe, expect, it } from "vitest";
import {
  PreparedMessage,
  prepareEntry,
  prepareHeartbeat,
  prepareMessage,
} from "../../src/transport/index.js";

describe("PreparedMessage", () => {
  it("frames a short text once as an unmasked final text frame (RFC 6455 5.2)", () => {
    const prepared = prepareMessage('{"type":"ping"}');
    expect(prepared.textFrame[0]).toBe(0x81);
    expect(prepared.textFrame[1]).toBe(15);
    expect(prepared.textFrame.subarray(2).toString()).toBe('{"type":"ping"}');
    expect(prepared.textBytes).toBe(15);
  });

  it("uses the 16-bit and 64-bit length forms", () => {
    const medium = prepareMessage("x".repeat(300));
    expect(medium.textFrame[1]).toBe(126);
    expect(medium.textFrame.readUInt16BE(2)).toBe(300);
    const large = prepareMessage("y".repeat(70_000));
    expect(large.textFrame[1]).toBe(127);
    expect(large.textFrame.readUIntBE(4, 6)).toBe(70_000);
    expect(large.textFrame.length).toBe(70_000 + 10);
  });

  it("counts bytes, not characters", () => {
    expect(prepareMessage('"é"').textBytes).toBe(4);
  });

  it("prepares the heartbeat as a ping control frame followed by the app ping, on both codecs", () => {
    const heartbeat = prepareHeartbeat();
    expect(heartbeat.pingFirst).toBe(true);
    expect([...heartbeat.textFrame.subarray(0, 2)]).toEqual([0x89, 0x00]);
    expect(heartbeat.textFrame.subarray(2)).toEqual(prepareMessage('{"type":"ping"}').textFrame);
    expect([...heartbeat.binaryFrame.subarray(0, 2)]).toEqual([0x89, 0x00]);
    expect(heartbeat.binaryFrame[2]).toBe(0x82);
    const payload = heartbeat.binaryFrame.subarray(4);
    expect(heartbeat.binaryFrame[3]).toBe(payload.length);
    expect(parseServerMessagePack(payload)).toEqual({ ok: true, message: { type: "ping" } });
  });

  it("encodes each wire at most once, and only the wires asked for", () => {
    const prepared = prepareEntry({ topic: "t", offset: 1, epoch: "e", data: { n: 1 }, ts: 5 });
    expect([prepared.jsonEncodes, prepared.msgpackEncodes, prepared.sseEncodes]).toEqual([0, 0, 0]);
    for (let i = 0; i < 3; i += 1) {
      void prepared.textFrame;
      void prepared.binaryFrame;
    }
    expect([prepared.jsonEncodes, prepared.msgpackEncodes, prepared.sseEncodes]).toEqual([1, 1, 0]);
    expect(prepared.textFrame).toBe(prepared.textFrame);
    expect(parseServerMessagePack(prepared.msgpack)).toEqual({
      ok: true,
      message: { type: "message", topic: "t", offset: 1, epoch: "e", data: { n: 1 }, ts: 5 },
    });
  });

  it("renders a server-sent event as data: <json> and a blank line", () => {
    const prepared = new PreparedMessage({ type: "pong" });
    expect(prepared.sseEvent.toString()).toBe('data: {"type":"pong"}\n\n');
    void prepared.sseEvent;
    expect(prepared.sseEncodes).toBe(1);
  });

  it("builds the MessagePack encoding from JSON text when only the text is known", () => {
    const prepared = prepareMessage('{"type":"error","code":"x","message":"y"}');
    expect(parseServerMessagePack(prepared.msgpack)).toEqual({
      ok: true,
      message: { type: "error", code: "x", message: "y" },
    });
  });

  it("gives JSON recipients bytes as base64 and MessagePack recipients the bytes", () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const prepared = prepareEntry({
      topic: "t",
      offset: 1,
      epoch: "e",
      data: { raw: bytes, nested: [Buffer.from("hi")] },
      ts: 5,
    });
    expect(JSON.parse(prepared.text).data).toEqual({ raw: "AAEC+v8=", nested: ["aGk="] });
    const decoded = parseServerMessagePack(prepared.msgpack);
    expect(decoded.ok && decoded.message.type === "message" && decoded.message.data).toEqual({
      raw: bytes,
      nested: [new Uint8Array(Buffer.from("hi"))],
    });
  });

  it("remembers an encoding failure instead of retrying it for every recipient", () => {
    const prepared = prepareEntry({ topic: "t", offset: 1, epoch: "e", data: { n: 1n }, ts: 5 });
    expect(() => prepared.text).toThrow(TypeError);
    expect(prepared.failure).toBeInstanceOf(TypeError);
    expect(() => prepared.textFrame).toThrow(prepared.failure as Error);
    expect(prepared.jsonEncodes).toBe(0);
  });
});
