import { afterEach, describe, expect, it } from "vitest";
import { PreparedMessage, prepareMessage } from "../../src/transport/index.js";
import { verifyPreframedWrites } from "../../src/transport/ws-capability.js";
import { createWsWriter, type WebSocketInternals } from "../../src/transport/ws-writer.js";
import { openWsPair, type WsPair } from "./ws-pair.js";

// The capability behind the pinned `ws` range in package.json: if this fails after a `ws`
// upgrade, the fast path's private fields moved and the pin must stay where it was.
describe("pre-framed writes under ws", () => {
  let pair: WsPair | undefined;
  afterEach(async () => {
    await pair?.close();
    pair = undefined;
  });

  it("are proved against the installed ws: frames written under it reach the peer in order", async () => {
    expect(await verifyPreframedWrites()).toEqual({ ok: true });
  });

  it("are refused when ws has no raw socket or sender where expected", async () => {
    const noFields = await verifyPreframedWrites({ inspect: () => ({}) });
    expect(noFields).toEqual({ ok: false, reason: "ws has no writable _socket" });
    const noSender = await verifyPreframedWrites({
      inspect: (ws) => ({ _socket: (ws as unknown as WebSocketInternals)._socket }),
    });
    expect(noSender.ok).toBe(false);
  });

  it("are refused when a frame written under ws does not reach the peer in its place", async () => {
    const swallowing = await verifyPreframedWrites({
      inspect: (ws) => {
        const real = ws as unknown as WebSocketInternals;
        // A raw socket that takes writes and loses them, as a changed ws internals could.
        const socket = Object.create(real._socket as object) as { write: () => boolean };
        socket.write = () => true;
        return {
          _socket: socket as unknown as WebSocketInternals["_socket"],
          _sender: real._sender,
        };
      },
    });
    expect(swallowing.ok).toBe(false);
    expect(swallowing.ok ? "" : swallowing.reason).toMatch(/read text:lifeline-preframed-after/);
  });

  it("fall back to ws.send without the capability, delivering text and binary in order", async () => {
    pair = await openWsPair();
    const writer = createWsWriter({ preframed: false, deflate: false });
    const messages = ["a", "b", "c"].map((text) => prepareMessage(JSON.stringify(text)));
    const binary = new PreparedMessage({ type: "pong" });
    for (const message of messages) writer.write(pair.target, message, false);
    writer.write(pair.target, binary, true);
    expect(await pair.read(4)).toEqual([
      'text:"a"',
      'text:"b"',
      'text:"c"',
      `binary:${Buffer.from(binary.msgpack).toString("hex")}`,
    ]);
    expect(binary.binaryFrame.length).toBeGreaterThan(0);
  });

  it("write frames under a real ws in order with its own sends, coalescing a tick's burst", async () => {
    pair = await openWsPair();
    const writer = createWsWriter({ preframed: true, deflate: false });
    const [a, b, c] = ["a", "b", "c"].map((text) => prepareMessage(JSON.stringify(text)));
    writer.write(pair.target, a as PreparedMessage, false);
    writer.write(pair.target, b as PreparedMessage, false);
    writer.write(pair.target, c as PreparedMessage, true);
    expect(writer.buffered(pair.target)).toBe(
      (b as PreparedMessage).textFrame.length + (c as PreparedMessage).binaryFrame.length,
    );
    // A control frame through ws's public API goes after what is queued once flushed.
    writer.flush(pair.target);
    pair.server.send("d");
    expect(await pair.read(4)).toEqual([
      'text:"a"',
      'text:"b"',
      `binary:${Buffer.from((c as PreparedMessage).msgpack).toString("hex")}`,
      "text:d",
    ]);
    expect(writer.buffered(pair.target)).toBe(0);
  });
});
