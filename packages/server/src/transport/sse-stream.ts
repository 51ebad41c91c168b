import type { ServerResponse } from "node:http";
import { CloseCode } from "@lifeline/protocol";
import { SSE_OPENING, sseCloseEvent } from "./sse-event.js";
import { writeJoined } from "./tick-coalescer.js";

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
    response.writeHead(200, { ...STREAM_HEADERS, ...headers });
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

  /** Writes event bytes. Nothing once closed. */
  write(chunk: Buffer): void {
    if (!this.isOpen) return;
    this.response.write(chunk);
    this.release();
  }

  /** Writes several events' bytes as one write. Nothing once closed. */
  writeMany(chunks: Buffer[], total: number): void {
    if (!this.isOpen) return;
    writeJoined(this.response, chunks, total);
    this.release();
  }

  /**
   * Hands what was just written to the kernel. Node's response corks its socket on a write
   * and uncorks it on `process.nextTick`, which does not run while a chain of promise
   * callbacks runs (a loop of `await server.publish()`): the events would wait in the
   * socket and count as buffered, and a reader keeping up would be taken for a slow one
   * (conflated, or closed 1013) where the same reader over WebSocket is not. The
   * per-tick coalescer already joins a burst into one write, so the cork adds nothing.
   */
  private release(): void {
    const socket = this.response.socket;
    if (socket !== null && socket.writableCorked > 0) socket.uncork();
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
