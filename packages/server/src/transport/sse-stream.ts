import type { ServerResponse } from "node:http";
import { CloseCode } from "@lifeline/protocol";
import { SSE_OPENING, sseCloseEvent } from "./sse-event.js";
import { JOIN_LIMIT, writeJoined } from "./tick-coalescer.js";

/** The headers of every event stream (PROTOCOL.md, "HTTP fallback (SSE)"). */
const STREAM_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "text/event-stream; charset=utf-8",
  // `no-transform` and `X-Accel-Buffering` keep proxies (nginx) from buffering or
  // compressing the stream, which would hold events back until a buffer fills.
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
};

/** How a stream ended: the close event's code, or 1006 when it ended without one. */
export type StreamEnded = (code: number, reason: string) => void;

/**
 * One open event stream: the HTTP response the server writes a connection's messages to,
 * the secret that authorizes its posts, and how it ended. What a WebSocket is to a
 * connection over the other wire.
 */
export class SseStream {
  /** The `sse_key` of the connection's hello: compared (timing-safe) on every post. */
  readonly key: string;
  private readonly response: ServerResponse;
  private ended = false;
  private closeCode: number | undefined;
  private closeReason = "";

  private constructor(response: ServerResponse, key: string) {
    this.response = response;
    this.key = key;
  }

  /** Answers 200 with the stream's headers and its opening comment. */
  static open(
    response: ServerResponse,
    key: string,
    headers: Readonly<Record<string, string>>,
  ): SseStream {
    const stream = new SseStream(response, key);
    // The stream is the rest of its connection, so the end of the body is the end of the
    // connection: each event is written as it is, without a chunk header and trailer to
    // frame it (RFC 9112 6.3, a response delimited by closing the connection).
    response.useChunkedEncodingByDefault = false;
    response.shouldKeepAlive = false;
    response.writeHead(200, { ...STREAM_HEADERS, ...headers, Connection: "close" });
    response.write(SSE_OPENING);
    response.once("close", () => {
      stream.ended = true;
    });
    return stream;
  }

  /** True until the close event was written or the peer went away. */
  get isOpen(): boolean {
    return this.closeCode === undefined && !this.ended && !this.response.destroyed;
  }

  /** Bytes written to the response that the kernel has not taken yet. */
  get buffered(): number {
    return this.response.writableLength;
  }

  /** Writes event bytes now. Nothing once closed. */
  write(chunk: Buffer): void {
    if (!this.isOpen) return;
    const socket = this.response.socket;
    const corked = socket?.writableCorked ?? 0;
    this.response.write(chunk);
    // Node corks a response's socket on every write until the next tick: in a fan-out to
    // many streams each event would wait for the whole loop to end. Released at once, the
    // chunk leaves in one writev, as a WebSocket frame does.
    if (socket && socket.writableCorked > corked) socket.uncork();
  }

  /** Writes several events' bytes as one write, now. Nothing once closed. */
  writeMany(chunks: Buffer[], total: number): void {
    if (total <= JOIN_LIMIT) this.write(Buffer.concat(chunks, total));
    else if (this.isOpen) writeJoined(this.response, chunks, total);
  }

  /** Ends the stream with the close event (PROTOCOL.md, "HTTP fallback (SSE)"). */
  close(code: number, reason: string): void {
    if (!this.isOpen) return;
    this.closeCode = code;
    this.closeReason = reason;
    this.response.end(sseCloseEvent(code, reason));
  }

  /** Drops the stream without a close event: the peer sees it end abnormally. */
  terminate(): void {
    this.response.destroy();
  }

  /** True once the response is over (written to the end, or dropped). */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Calls `ended` once the response is over, with the close event's code (else 1006). */
  onEnded(ended: StreamEnded): void {
    const report = (): void => {
      if (this.closeCode === undefined) ended(CloseCode.Abnormal, "");
      else ended(this.closeCode, this.closeReason);
    };
    // Never synchronously: the caller (a session being accepted) registers the connection
    // after this, and its end must come after that.
    if (this.ended) queueMicrotask(report);
    else this.response.once("close", report);
  }

  /** Resolves once the response is over and every `onEnded` callback has run. */
  whenEnded(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => this.response.once("close", () => resolve()));
  }

  /** Calls `drained` whenever the response's buffer empties; returns the undo. */
  onDrain(drained: () => void): () => void {
    this.response.on("drain", drained);
    return () => {
      this.response.off("drain", drained);
    };
  }
}

/** True when `socket` is a stream of the HTTP fallback. */
export function isSseStream(socket: unknown): socket is SseStream {
  return socket instanceof SseStream;
}
