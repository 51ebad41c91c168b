import {
  type ClientMessage,
  CloseCode,
  type HelloMessage,
  type ProtocolIssue,
  type ServerMessage,
  truncateCloseReason,
} from "@lifeline/protocol";
import type { TransitionCause } from "../state/machine.js";
import { after, type Clock } from "../util/clock.js";
import { classifyClose, errorText } from "./close-class.js";
import { type CodecName, type CodecSet, negotiatedCodec, type WireCodec } from "./codec.js";
import { OPEN, type WebSocketLike } from "./socket.js";
import type { Transport, TransportName } from "./transport.js";

/** How one socket ended, for the reconnect planner and the state event. */
export interface ConnectionEnd {
  readonly cause: TransitionCause;
  /** True when the server's `hello` arrived on this socket. */
  readonly greeted: boolean;
  /** `reconnect_after_ms` of a `shutdown` the server sent before closing. */
  readonly shutdownFloorMs?: number;
  /**
   * The upgrade was refused with HTTP 429 or 503 (limits reached): back off as for 4429.
   * Only `ws` reports the status; browsers hide it.
   */
  readonly overloaded?: boolean;
  /**
   * The node said it cannot serve now: it refused the upgrade with HTTP 503, or sent
   * `shutdown` / closed with 1012. Another node may serve (PROTOCOL.md, "Close codes").
   */
  readonly unavailable?: boolean;
  /**
   * The HTTP status that refused the upgrade or the SSE stream, when the implementation
   * reports it (`ws` and the SSE transport do; browsers hide it for WebSocket).
   */
  readonly refusedStatus?: number;
}

export interface ConnectionHandlers {
  readonly onHello: (hello: HelloMessage) => void;
  /** Every valid frame after `hello`, including `ping`, `pong` and `shutdown`. */
  readonly onMessage: (message: ServerMessage) => void;
  /** Any frame at all, valid or not: it proves the server alive. */
  readonly onFrame: () => void;
  readonly onInvalid: (issue: ProtocolIssue) => void;
  /** Called once, unless the application closed the connection itself. */
  readonly onEnd: (end: ConnectionEnd) => void;
}

export interface ConnectionOptions {
  readonly url: string;
  readonly transport: Transport;
  /** The subprotocols offered, preferred first (transport/codec.ts). */
  readonly protocols: readonly string[];
  /** The codecs the client can speak; the server's subprotocol picks one. */
  readonly codecs: CodecSet;
  readonly clock: Clock;
  readonly connectTimeoutMs: number;
  readonly helloTimeoutMs: number;
  readonly maxMessageChars: number;
  readonly handlers: ConnectionHandlers;
}

export interface Connection {
  readonly greeted: boolean;
  /** The wire this connection runs over. */
  readonly transport: TransportName;
  /** The codec the server agreed on; JSON until the socket opened. */
  readonly codec: CodecName;
  /**
   * Encodes and sends one message; false when the socket is not open (the caller queues
   * it). Throws the codec's `TypeError` for data it cannot carry (binary over JSON).
   */
  send(message: ClientMessage): boolean;
  /** Closes on the application's request; `onEnd` is not called. */
  close(code: number, reason: string): void;
  /** Drops the socket without waiting for a close handshake (half-open, timeouts); calls `onEnd`. */
  abandon(cause: TransitionCause): void;
}

/** One socket, from the transport's `open()` to its end: connect and `hello` deadlines, parsing. */
export function openConnection(options: ConnectionOptions): Connection {
  return new SocketConnection(options);
}

class SocketConnection implements Connection {
  readonly #options: ConnectionOptions;
  readonly #socket: WebSocketLike;
  #wire: WireCodec;
  #opened = false;
  #wasGreeted = false;
  #ended = false;
  #lastError = "";
  #shutdownFloorMs: number | undefined;
  #stopTimer: () => void = () => {};

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#wire = options.codecs.json;
    const socket = options.transport.open(options.url, options.protocols);
    // Binary frames as ArrayBuffer everywhere (browsers default to Blob, which decodes
    // only asynchronously); text frames stay strings.
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    this.#stopTimer = after(options.clock, options.connectTimeoutMs, () =>
      this.abandon({
        reason: `the socket did not open within ${options.connectTimeoutMs} ms`,
        errorClass: "timeout",
      }),
    );
    socket.onopen = () => this.#handleOpen();
    socket.onerror = (event) => {
      this.#lastError = errorText(event) || this.#lastError;
    };
    socket.onclose = (event) => this.#handleClose(event);
    socket.onmessage = (event) => this.#handleMessage(event.data);
  }

  get greeted(): boolean {
    return this.#wasGreeted;
  }

  get transport(): TransportName {
    return this.#options.transport.name;
  }

  get codec(): CodecName {
    return this.#wire.name;
  }

  send(message: ClientMessage): boolean {
    if (this.#ended || this.#socket.readyState !== OPEN) return false;
    const frame = this.#wire.encode(message);
    try {
      this.#socket.send(frame);
      return true;
    } catch {
      return false;
    }
  }

  close(code: number, reason: string): void {
    if (this.#ended) return;
    this.#detach();
    try {
      this.#socket.close(code, reason);
    } catch {
      // A socket still connecting may refuse close() in some implementations.
    }
  }

  abandon(cause: TransitionCause): void {
    if (this.#ended) return;
    const socket = this.#socket;
    const terminate = (socket as { terminate?: () => void }).terminate;
    try {
      if (typeof terminate === "function") terminate.call(socket);
      // Browsers only accept 1000 and 3000-4999 from scripts; the reason is cut to 123 bytes.
      else socket.close(CloseCode.Normal, truncateCloseReason(cause.reason));
    } catch {
      // Already closing: nothing more to do, the handlers are detached.
    }
    this.#end(cause);
  }

  #handleOpen(): void {
    if (this.#ended) return;
    this.#opened = true;
    this.#wire = negotiatedCodec(this.#socket.protocol, this.#options.codecs);
    this.#stopTimer();
    const { clock, helloTimeoutMs } = this.#options;
    this.#stopTimer = after(clock, helloTimeoutMs, () =>
      this.abandon({
        reason: `the server sent no hello within ${helloTimeoutMs} ms`,
        errorClass: "timeout",
      }),
    );
  }

  #handleClose(event: { readonly code: number; readonly reason: string }): void {
    if (this.#ended) return;
    const code = typeof event.code === "number" ? event.code : CloseCode.Abnormal;
    const lastError = this.#lastError;
    const reason =
      event.reason ||
      (this.#opened
        ? `the connection closed (${code})`
        : `the socket could not be opened${lastError ? `: ${lastError}` : ""}`);
    this.#end({ code, reason, errorClass: classifyClose(code, this.#opened, lastError) });
  }

  #handleMessage(data: unknown): void {
    if (this.#ended) return;
    const { handlers } = this.#options;
    handlers.onFrame();
    const parsed = this.#wire.parse(data);
    if (!parsed.ok) {
      handlers.onInvalid(parsed.error);
      return;
    }
    const message = parsed.message;
    if (!this.#wasGreeted) {
      if (message.type !== "hello") return;
      this.#wasGreeted = true;
      this.#stopTimer();
      handlers.onHello(message);
      return;
    }
    if (message.type === "shutdown") this.#shutdownFloorMs = message.reconnect_after_ms;
    handlers.onMessage(message);
  }

  #detach(): void {
    this.#ended = true;
    this.#stopTimer();
    const socket = this.#socket;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    // Keep a no-op error handler: some implementations throw on an unhandled error event.
    socket.onerror = () => {};
  }

  #end(cause: TransitionCause): void {
    if (this.#ended) return;
    this.#detach();
    const shutdownFloorMs = this.#shutdownFloorMs;
    const refusedWith = this.#opened ? undefined : /\b(429|503)\b/.exec(this.#lastError)?.[1];
    const refusedStatus = this.#opened ? undefined : refusalStatus(this.#lastError);
    const unavailable =
      refusedWith === "503" ||
      shutdownFloorMs !== undefined ||
      cause.code === CloseCode.ServiceRestart;
    this.#options.handlers.onEnd({
      cause,
      greeted: this.#wasGreeted,
      ...(shutdownFloorMs === undefined ? {} : { shutdownFloorMs }),
      ...(refusedWith === undefined ? {} : { overloaded: true }),
      ...(unavailable ? { unavailable } : {}),
      ...(refusedStatus === undefined ? {} : { refusedStatus }),
    });
  }
}

/** The HTTP status in `ws`'s (and the SSE transport's) "Unexpected server response: 403". */
function refusalStatus(errorText: string): number | undefined {
  const status = /unexpected server response: (\d{3})\b/i.exec(errorText)?.[1];
  return status === undefined ? undefined : Number(status);
}
