import { describe, expect, it } from "vitest";
import {
  createSocketWriter,
  type PreparedMessage,
  prepareHeartbeat,
  prepareMessage,
  type WriteTarget,
} from "../src/fan-out.js";

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

  it("prepares the heartbeat as a ping control frame followed by the app ping, in one buffer", () => {
    const heartbeat = prepareHeartbeat();
    expect([...heartbeat.frame.subarray(0, 2)]).toEqual([0x89, 0x00]);
    expect(heartbeat.frame.subarray(2)).toEqual(prepareMessage('{"type":"ping"}').frame);
    expect(heartbeat).toMatchObject({ text: '{"type":"ping"}', bytes: 15, pingFirst: true });
  });

  it("counts bytes, not characters", () => {
    expect(prepareMessage('"é"').bytes).toBe(4);
  });
});

describe("socket writer", () => {
  function fakeTarget() {
    const writes: Buffer[] = [];
    const socket = {
      write: (chunk: Buffer) => {
        writes.push(Buffer.from(chunk));
        return true;
      },
      cork: () => {},
      uncork: () => {},
      writableLength: 0,
    };
    const ws = {
      readyState: 1,
      bufferedAmount: 0,
      _socket: socket,
      _sender: { _state: 0, _queue: [] },
      send: () => {
        throw new Error("the pre-framed path must not use ws.send");
      },
    };
    const target = {
      socket: ws as unknown as WriteTarget["socket"],
      pendingFrames: undefined,
      pendingBytes: 0,
      writtenTick: 0,
    } as WriteTarget;
    return { writes, ws, target };
  }
  const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve));

  it("writes a tick's first frame at once and joins the rest into one write", async () => {
    const writer = createSocketWriter({ deflate: false });
    const { writes, target } = fakeTarget();
    const [a, b, c] = ["a", "b", "c"].map((text) => prepareMessage(JSON.stringify(text)));
    writer.write(target, a as PreparedMessage);
    writer.write(target, b as PreparedMessage);
    writer.write(target, c as PreparedMessage);
    expect(writes).toEqual([a?.frame]);
    expect(writer.buffered(target)).toBe((b?.frame.length ?? 0) + (c?.frame.length ?? 0));
    await nextTick();
    expect(writes).toEqual([a?.frame, Buffer.concat([b?.frame as Buffer, c?.frame as Buffer])]);
    expect(writer.buffered(target)).toBe(0);
    // A new tick starts with a direct write again.
    writer.write(target, a as PreparedMessage);
    expect(writes).toHaveLength(3);
  });

  it("flushes queued frames on demand and drops them once the socket is closing", async () => {
    const writer = createSocketWriter({ deflate: false });
    const { writes, ws, target } = fakeTarget();
    const m = prepareMessage('"m"');
    writer.write(target, m);
    writer.write(target, m);
    writer.flush(target);
    expect(writes).toHaveLength(2);
    await nextTick();
    writer.write(target, m);
    writer.write(target, m);
    ws.readyState = 2;
    await nextTick();
    expect(writes).toHaveLength(3);
    expect(writer.write(target, m)).toBe(false);
  });
});
