import type { Socket } from "node:net";
import { WebSocket } from "ws";
import type { LogEntry } from "./broker.js";

/**
 * A server message serialised and framed once (RFC 6455 section 5.2, unmasked text frame),
 * ready to be written to any number of sockets: a broadcast costs one `JSON.stringify`
 * and one frame, not one per recipient.
 */
export interface PreparedMessage {
  readonly text: string;
  /** Header and payload in one buffer (after the ping frame, for a heartbeat). */
  readonly frame: Buffer;
  /** Payload size in bytes. */
  readonly bytes: number;
  /** A WebSocket ping frame goes out first: the heartbeat's two frames (see `prepareHeartbeat`). */
  readonly pingFirst?: true;
}

/** Frames `text` as a final, unmasked text frame in a single buffer. */
export function prepareMessage(text: string): PreparedMessage {
  const bytes = Buffer.byteLength(text);
  // RFC 6455 5.2: 7-bit length, or 126 + 16-bit, or 127 + 64-bit.
  const header = bytes < 126 ? 2 : bytes < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + bytes);
  frame[0] = 0x81;
  if (header === 2) {
    frame[1] = bytes;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(bytes, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(bytes / 2 ** 32), 2);
    frame.writeUInt32BE(bytes >>> 0, 6);
  }
  frame.write(text, header, "utf8");
  return { text, frame, bytes };
}

/** An empty, unmasked ping control frame (RFC 6455 section 5.5.2). */
const PING_FRAME = Buffer.from([0x89, 0x00]);

/**
 * The heartbeat of PROTOCOL.md ("Liveness"): a WebSocket ping frame and an application
 * `{"type":"ping"}` prepared as one buffer, so each connection's heartbeat is one kernel
 * write instead of two (with 10,000 idle connections, the heartbeat is most of what the
 * server does).
 */
export function prepareHeartbeat(): PreparedMessage {
  const app = prepareMessage('{"type":"ping"}');
  return { ...app, frame: Buffer.concat([PING_FRAME, app.frame]), pingFirst: true };
}

/** The parts of `ws` internals the pre-framed path writes through. */
interface WebSocketInternals {
  readonly _socket?: Socket;
  readonly _sender?: { readonly _state?: number; readonly _queue?: readonly unknown[] };
}

/**
 * Per-socket writer state, kept on the connection itself as plain fields (no map lookup,
 * no extra object per connection).
 */
export interface WriteTarget {
  readonly socket: WebSocket;
  /** Frames queued for the end of the tick, when more than one came in this tick. */
  pendingFrames: Buffer[] | undefined;
  pendingBytes: number;
  /** The writer tick in which this socket last had a frame written straight through. */
  writtenTick: number;
}

/** Pending frames up to this size are joined into one buffer; larger ones go by writev. */
const CONCAT_LIMIT = 64 * 1024;

/**
 * Writes prepared frames, coalescing per socket within a tick (docs/performance.md):
 * the first frame a socket gets in a tick goes straight to the kernel (no added latency
 * for a lone message); further frames for that socket in the same tick are queued and
 * leave together in one write when the tick ends, so a burst of N messages costs one
 * write per socket instead of N (the kernel write is most of a delivery's cost).
 * With permessage-deflate, or while `ws` has its own queue busy, frames go through
 * `ws.send` so their order is kept.
 */
export interface SocketWriter {
  /** Sends `message`; false when the socket is no longer open. */
  write(target: WriteTarget, message: PreparedMessage): boolean;
  /** Writes the frames queued for `target` now (before a control frame or a close). */
  flush(target: WriteTarget): void;
  /** Bytes queued for `target`, in this writer and in the socket. */
  buffered(target: WriteTarget): number;
}

export function createSocketWriter(options: { readonly deflate: boolean }): SocketWriter {
  const dirty: WriteTarget[] = [];
  let tick = 1;
  let scheduled = false;

  const endOfTick = (): void => {
    scheduled = false;
    tick += 1;
    if (dirty.length === 0) return;
    for (let i = 0; i < dirty.length; i += 1) flush(dirty[i] as WriteTarget);
    dirty.length = 0;
  };

  // The end of the tick is a bare V8 microtask, not process.nextTick or queueMicrotask:
  // a tick callback makes Node run its JS tick queue (async-hook bookkeeping, rejection
  // processing) after every socket read, and queueMicrotask wraps each callback in an
  // AsyncResource; one or the other per request was a measurable share of a round trip.
  const resolved = Promise.resolve();
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    void resolved.then(endOfTick);
  };

  function flush(target: WriteTarget): void {
    const pending = target.pendingFrames;
    if (pending === undefined) return;
    const total = target.pendingBytes;
    target.pendingFrames = undefined;
    target.pendingBytes = 0;
    const ws = target.socket;
    const socket = (ws as unknown as WebSocketInternals)._socket;
    // A socket that started closing (ws closes by itself on protocol errors) takes no data.
    if (ws.readyState !== WebSocket.OPEN || socket === undefined) return;
    if (pending.length === 1) {
      socket.write(pending[0] as Buffer);
    } else if (total <= CONCAT_LIMIT) {
      socket.write(Buffer.concat(pending, total));
    } else {
      socket.cork();
      for (const frame of pending) socket.write(frame);
      socket.uncork();
    }
  }

  return {
    write(target, message) {
      const ws = target.socket;
      if (ws.readyState !== WebSocket.OPEN) return false;
      const internals = ws as unknown as WebSocketInternals;
      const socket = internals._socket;
      const sender = internals._sender;
      if (
        options.deflate ||
        socket === undefined ||
        sender === undefined ||
        (sender._state ?? 0) !== 0 ||
        (sender._queue?.length ?? 0) !== 0
      ) {
        flush(target);
        if (message.pingFirst === true) ws.ping();
        ws.send(message.text);
        return true;
      }
      const pending = target.pendingFrames;
      if (pending !== undefined) {
        pending.push(message.frame);
        target.pendingBytes += message.frame.length;
        return true;
      }
      schedule();
      if (target.writtenTick === tick) {
        target.pendingFrames = [message.frame];
        target.pendingBytes = message.frame.length;
        dirty.push(target);
        return true;
      }
      target.writtenTick = tick;
      socket.write(message.frame);
      return true;
    },
    flush,
    buffered(target) {
      return target.socket.bufferedAmount + target.pendingBytes;
    },
  };
}

/**
 * Serialises a log entry as a `message` once; `conflated` marks the latest entry of its
 * key sent in place of the ones before it (PROTOCOL.md, "Conflation").
 */
export function prepareEntry(entry: LogEntry, conflated = false): PreparedMessage {
  return prepareMessage(
    JSON.stringify({
      type: "message",
      topic: entry.topic,
      offset: entry.offset,
      epoch: entry.epoch,
      // A message must carry `data` (PROTOCOL.md): JSON would drop an undefined one.
      data: entry.data === undefined ? null : entry.data,
      ts: entry.ts,
      ...(conflated ? { conflated: true } : {}),
    }),
  );
}
