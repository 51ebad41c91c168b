import type { PreparedMessage } from "./prepared-message.js";
import type { SseStream } from "./sse-stream.js";
import { createTickCoalescer } from "./tick-coalescer.js";
import type { Transport, TransportSink, WriteTarget } from "./transport.js";

/** The HTTP fallback's wire: one transport per server, and how posts reach the core. */
export interface SseEndpoint<Target extends WriteTarget> {
  readonly transport: Transport;
  /** Routes the stream's end of `target` to the sink. */
  attach(target: Target): void;
  /**
   * Hands a post's messages to the sink, in order, as frames of a WebSocket; an accepted
   * post is a sign of life (PROTOCOL.md, "HTTP fallback (SSE)").
   */
  receive(target: Target, messages: readonly Buffer[]): void;
}

const streamOf = (target: WriteTarget): SseStream => target.socket as SseStream;

/**
 * The `Transport` of the HTTP fallback (PROTOCOL.md, "HTTP fallback (SSE)"): each message
 * is its prepared SSE event (encoded once per message, whatever the number of
 * recipients), written to the connection's response with the same per-tick coalescing as
 * the WebSocket writer; `buffered` is what the response has not handed to the kernel plus
 * what waits for the end of the tick, so slow consumers are shed at the same high-water
 * mark. A close writes the close event and ends the response; a terminate destroys it.
 */
export function createSseEndpoint<Target extends WriteTarget>(
  sink: TransportSink<Target>,
): SseEndpoint<Target> {
  const coalescer = createTickCoalescer<WriteTarget>({
    writeOne: (target, chunk) => streamOf(target).write(chunk),
    writeMany: (target, chunks, total) => streamOf(target).writeMany(chunks, total),
  });
  const transport: Transport = {
    name: "sse",
    codec: "json",
    isOpen: (target) => streamOf(target).isOpen,
    isClosed: (target) => streamOf(target).isEnded,
    write(target, message: PreparedMessage) {
      if (!streamOf(target).isOpen) return -1;
      coalescer.write(target, message.sseEvent);
      return message.textBytes;
    },
    flush: coalescer.flush,
    buffered: (target) => streamOf(target).buffered + target.pendingBytes,
    close(target, code, reason) {
      coalescer.flush(target);
      streamOf(target).close(code, reason);
    },
    terminate: (target) => streamOf(target).terminate(),
    onDrain: (target, callback) => streamOf(target).onDrain(callback),
    whenClosed: (target) => streamOf(target).whenEnded(),
  };
  return {
    transport,
    attach(target) {
      streamOf(target).onEnded((code, reason) => sink.closed(target, code, reason));
    },
    receive(target, messages) {
      sink.activity(target);
      for (const message of messages) {
        if (!streamOf(target).isOpen) return;
        sink.message(target, message, false);
      }
    },
  };
}
