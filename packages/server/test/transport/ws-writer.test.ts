import { describe, expect, it } from "vitest";
import {
  type PreparedMessage,
  prepareMessage,
  type WriteTarget,
} from "../../src/transport/index.js";
import { createWsWriter } from "../../src/transport/ws-writer.js";

/** A ws stand-in that records raw writes, to count kernel writes (real sockets: ws-capability). */
function fakeTarget() {
  const writes: Buffer[] = [];
  const sent: unknown[] = [];
  const socket = {
    write: (chunk: Buffer) => {
      writes.push(Buffer.from(chunk));
      return true;
    },
    cork: () => {},
    uncork: () => {},
  };
  const ws = {
    readyState: 1,
    bufferedAmount: 0,
    _socket: socket,
    _sender: { _state: 0, _queue: [] as unknown[] },
    ping: () => sent.push("ping"),
    send: (data: unknown) => sent.push(data),
  };
  const target: WriteTarget = {
    socket: ws,
    pendingFrames: undefined,
    pendingBytes: 0,
    writtenTick: 0,
  };
  return { writes, sent, ws, target };
}
const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve));

describe("ws writer", () => {
  it("writes a tick's first frame at once and joins the rest into one write", async () => {
    const writer = createWsWriter({ preframed: true, deflate: false });
    const { writes, sent, target } = fakeTarget();
    const [a, b, c] = ["a", "b", "c"].map((text) => prepareMessage(JSON.stringify(text)));
    writer.write(target, a as PreparedMessage, false);
    writer.write(target, b as PreparedMessage, false);
    writer.write(target, c as PreparedMessage, false);
    expect(writes).toEqual([a?.textFrame]);
    expect(writer.buffered(target)).toBe((b?.textFrame.length ?? 0) + (c?.textFrame.length ?? 0));
    await nextTick();
    expect(writes).toEqual([
      a?.textFrame,
      Buffer.concat([b?.textFrame as Buffer, c?.textFrame as Buffer]),
    ]);
    expect(writer.buffered(target)).toBe(0);
    writer.write(target, a as PreparedMessage, false);
    expect(writes).toHaveLength(3);
    expect(sent).toEqual([]);
  });

  it("flushes queued frames on demand and drops them once the socket is closing", async () => {
    const writer = createWsWriter({ preframed: true, deflate: false });
    const { writes, ws, target } = fakeTarget();
    const m = prepareMessage('"m"');
    writer.write(target, m, false);
    writer.write(target, m, false);
    writer.flush(target);
    expect(writes).toHaveLength(2);
    await nextTick();
    writer.write(target, m, false);
    writer.write(target, m, false);
    ws.readyState = 2;
    await nextTick();
    expect(writes).toHaveLength(3);
    expect(writer.write(target, m, false)).toBe(-1);
  });

  it("goes through ws.send, after what it queued, while ws's own sender is busy", () => {
    const writer = createWsWriter({ preframed: true, deflate: false });
    const { writes, sent, ws, target } = fakeTarget();
    const [a, b, c] = ["a", "b", "c"].map((text) => prepareMessage(JSON.stringify(text)));
    writer.write(target, a as PreparedMessage, false);
    writer.write(target, b as PreparedMessage, false);
    ws._sender._queue.push({});
    writer.write(target, c as PreparedMessage, false);
    expect(writes).toEqual([a?.textFrame, b?.textFrame]);
    expect(sent).toEqual(['"c"']);
  });

  it("sends everything through ws.send with permessage-deflate, the ping of a heartbeat first", () => {
    const writer = createWsWriter({ preframed: true, deflate: true });
    const { writes, sent, target } = fakeTarget();
    const heartbeat = prepareMessage('{"type":"ping"}');
    expect(writer.write(target, heartbeat, false)).toBe(15);
    expect(writes).toEqual([]);
    expect(sent).toEqual(['{"type":"ping"}']);
  });
});
