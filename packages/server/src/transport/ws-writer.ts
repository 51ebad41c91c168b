import type { Socket } from "node:net";
import { WebSocket } from "ws";
import type { PreparedMessage } from "./prepared-message.js";
import { createTickCoalescer, writeJoined } from "./tick-coalescer.js";
import type { WriteTarget } from "./transport.js";

/**
 * The private fields of a `ws` WebSocket the pre-framed path writes through: its net
 * socket, and its sender's state and queue (a frame written past a busy sender would
 * overtake the ones it holds). Read only here and in the start-up check
 * (`ws-capability.ts`), which proves them before the path is used.
 */
export interface WebSocketInternals {
  readonly _socket?: Socket | undefined;
  readonly _sender?: { readonly _state?: number; readonly _queue?: readonly unknown[] } | undefined;
}

/** The net socket under `ws`, or undefined when `ws` no longer has one there. */
export function rawSocketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as WebSocketInternals)._socket;
}

/** True when a frame written to the raw socket now keeps its place after `ws`'s own. */
function senderIdle(ws: WebSocket): boolean {
  const internals = ws as unknown as WebSocketInternals;
  const sender = internals._sender;
  return (
    internals._socket !== undefined &&
    sender !== undefined &&
    (sender._state ?? 0) === 0 &&
    (sender._queue?.length ?? 0) === 0
  );
}

/**
 * Writes prepared frames, coalescing per socket within a tick (docs/performance.md):
 * the first frame a socket gets in a tick goes straight to the kernel (no added latency
 * for a lone message); further frames for that socket in the same tick are queued and
 * leave together in one write when the tick ends, so a burst of N messages costs one
 * write per socket instead of N (the kernel write is most of a delivery's cost).
 * Without the verified pre-framed capability, with permessage-deflate, or while `ws` has
 * its own queue busy, messages go through `ws.send` so their order is kept.
 */
export interface WsWriter {
  /** Sends `message` as a text (JSON) or binary (MessagePack) frame; -1 when not open. */
  write(target: WriteTarget, message: PreparedMessage, binary: boolean): number;
  /** Writes the frames queued for `target` now (before a control frame or a close). */
  flush(target: WriteTarget): void;
  /** Bytes queued for `target`, in this writer and in the socket. */
  buffered(target: WriteTarget): number;
}

export interface WsWriterOptions {
  /** Frames may be written to `ws`'s net socket (proved by `verifyPreframedWrites`). */
  readonly preframed: boolean;
  /** permessage-deflate is offered: frames must go through `ws` to be compressed. */
  readonly deflate: boolean;
}

export function createWsWriter(options: WsWriterOptions): WsWriter {
  const direct = options.preframed && !options.deflate;

  /** The net socket to write to, unless the WebSocket started closing. */
  const openSocket = (target: WriteTarget): Socket | undefined => {
    const ws = target.socket as WebSocket;
    // A socket that started closing (ws closes by itself on protocol errors) takes no data.
    return ws.readyState === WebSocket.OPEN ? rawSocketOf(ws) : undefined;
  };
  const coalescer = createTickCoalescer<WriteTarget>({
    writeOne(target, frame) {
      openSocket(target)?.write(frame);
    },
    writeMany(target, frames, total) {
      const socket = openSocket(target);
      if (socket !== undefined) writeJoined(socket, frames, total);
    },
  });
  const flush = coalescer.flush;

  function send(target: WriteTarget, ws: WebSocket, message: PreparedMessage, binary: boolean) {
    flush(target);
    if (message.pingFirst) ws.ping();
    if (binary) {
      const payload = message.msgpack;
      ws.send(payload);
      return payload.byteLength;
    }
    ws.send(message.text);
    return message.textBytes;
  }

  return {
    write(target, message, binary) {
      const ws = target.socket as WebSocket;
      if (ws.readyState !== WebSocket.OPEN) return -1;
      if (!direct || !senderIdle(ws)) return send(target, ws, message, binary);
      coalescer.write(target, binary ? message.binaryFrame : message.textFrame);
      return binary ? message.msgpack.byteLength : message.textBytes;
    },
    flush,
    buffered(target) {
      return (target.socket as WebSocket).bufferedAmount + target.pendingBytes;
    },
  };
}
