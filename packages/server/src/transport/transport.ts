import type { PreparedMessage } from "./prepared-message.js";

/** The wires a connection can be on (the `transport` label of metrics and logs). */
export type TransportName = "websocket" | "sse";

/** How messages are encoded on a wire (PROTOCOL.md: JSON text, or MessagePack binary). */
export type CodecName = "json" | "msgpack";

/**
 * What a transport keeps on each connection: its socket (opaque to the core) and the
 * writer's per-connection state, as plain fields of the connection itself, so that a
 * transport adds no object per connection.
 */
export interface WriteTarget {
  readonly socket: unknown;
  /** Frames queued for the end of the tick, when more than one came in this tick. */
  pendingFrames: Buffer[] | undefined;
  pendingBytes: number;
  /** The writer tick in which this socket last had a frame written straight through. */
  writtenTick: number;
}

/**
 * How a connection's wire is driven: one object per server and per wire (WebSocket with
 * JSON, WebSocket with MessagePack, ...), shared by every connection on it. The core
 * (connection, session, fan-out, drain, heartbeat) only talks to this; adapters in this
 * folder map it onto a library.
 */
export interface Transport {
  readonly name: TransportName;
  readonly codec: CodecName;
  /** True while messages can be written. */
  isOpen(target: WriteTarget): boolean;
  /** True once the wire is closed for good (the sink's `closed` has run or is running). */
  isClosed(target: WriteTarget): boolean;
  /**
   * Sends `message` in this wire's encoding, coalescing writes within a tick. Returns the
   * payload bytes sent, or -1 when the wire is no longer open.
   */
  write(target: WriteTarget, message: PreparedMessage): number;
  /** Writes what is queued for `target` now (before a close). */
  flush(target: WriteTarget): void;
  /** Bytes queued for `target`: in the writer, in the library and in the kernel's socket. */
  buffered(target: WriteTarget): number;
  /** Starts a clean close with `code` and `reason` (already cut to 123 bytes). */
  close(target: WriteTarget, code: number, reason: string): void;
  /** Drops the wire at once. */
  terminate(target: WriteTarget): void;
  /**
   * Calls `callback` whenever the kernel took everything written so far, when the wire
   * can tell (it may never: callers poll too). Returns the undo.
   */
  onDrain(target: WriteTarget, callback: () => void): () => void;
  /** Resolves once the wire has closed and the sink's `closed` has run. */
  whenClosed(target: WriteTarget): Promise<void>;
}

/**
 * Where a transport delivers what happens on a connection: one sink per server, so the
 * adapter needs no closure per connection.
 */
export interface TransportSink<Target> {
  /** A message from the peer, as it came off the wire. */
  message(target: Target, data: Buffer, isBinary: boolean): void;
  /** The peer showed it is alive without a message (a WebSocket pong). */
  activity(target: Target): void;
  /**
   * The wire failed; `closeCode` is the close code the library sends by itself for it
   * (RFC 6455 7.4.1: 1009 for an oversized frame), when it does.
   */
  error(target: Target, error: Error, closeCode: number | undefined): void;
  /** The wire closed, with the code and reason seen. */
  closed(target: Target, code: number, reason: string): void;
}
