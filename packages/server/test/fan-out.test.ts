import { describe, expect, it } from "vitest";
import { prepareMessage } from "../src/fan-out.js";

describe("prepareMessage", () => {
  it("frames a short text once as an unmasked final text frame (RFC 6455 5.2)", () => {
    const prepared = prepareMessage('{"type":"ping"}');
    expect(prepared.frame[0]).toBe(0x81);
    expect(prepared.frame[1]).toBe(15);
    expect(prepared.frame.subarray(2).toString()).toBe('{"type":"ping"}');
    expect(prepared.bytes).toBe(15);
  });

  it("uses the 16-bit and 64-bit length forms", () => {
    const medium = prepareMessage("x".repeat(300));
    expect(medium.frame[1]).toBe(126);
    expect(medium.frame.readUInt16BE(2)).toBe(300);
    const large = prepareMessage("y".repeat(70_000));
    expect(large.frame[1]).toBe(127);
    expect(large.frame.readUIntBE(4, 6)).toBe(70_000);
    expect(large.frame.length).toBe(70_000 + 10);
  });

  it("counts bytes, not characters", () => {
    expect(prepareMessage('"é"').bytes).toBe(4);
  });
});
