import {
  CloseCode,
  type HelloMessage,
  type ProtocolIssue,
  parseServerMessage,
  type ServerMessage,
  SUBPROTOCOL,
  truncateCloseReason,
} from "@lifeline/protocol";
import type { ErrorClass, TransitionCause } from "../state/machine.js";
import { after, type Clock } from "../util/clock.js";
import { OPEN, type WebSocketConstructor, type WebSocketLike } from "./socket.js";

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
  readonly WebSocket: WebSocketConstructor;
  readonly clock: Clock;
  readonly connectTimeoutMs: number;
  readonly helloTimeoutMs: number;
  readonly maxMessageChars: number;
  readonly handlers: ConnectionHandlers;
}

export interface Connection {
  readonly greeted: boolean;
  /** Sends one frame; false when the socket is not open (the caller queues it). */
  send(frame: string): boolean;
  /** Closes on the application's request; `onEnd` is not called. */
  close(code: number, reason: string): void;
  /** Drops the socket without waiting for a close handshake (half-open, timeouts); calls `onEnd`. */
  abandon(cause: TransitionCause): void;
}

/** Close codes a server uses to refuse a handshake it accepted at the HTTP level. */
const handshakeCodes = new Set<number>([
  CloseCode.BadHandshake,
  CloseCode.Forbidden,
  CloseCode.TooManyConnections,
  CloseCode.HandshakeError,
]);

/** RFC 6455 section 7.4.1: 1005 reports a close frame without a status code. */
const NO_STATUS = 1005;

export function classifyClose(code: number, opened: boolean, errorText: string): ErrorClass {
  if (!opened) {
    // A refused upgrade (403/429/503) surfaces as an error before open; `ws` names the
    // HTTP status, browsers say nothing, so it reads as a network failure there.
    return /unexpected server response|status code|\b[45]\d\d\b/i.test(errorText)
      ? "handshake"
      : "network";
  }
  if (code === CloseCode.Unauthenticated) return "auth";
  if (handshakeCodes.has(code)) return "handshake";
  if (code === CloseCode.Abnormal) return "abnormal";
  if (code === NO_STATUS) return "unknown";
  if ((code >= 1000 && code <= 1015) || (code >= 4000 && code <= 4999)) return "server_error";
  return "unknown";
}

function errorText(event: unknown): string {
  if (typeof event !== "object" || event === null) return "";
  const record = event as { message?: unknown; error?: unknown };
  if (typeof record.message === "string") return record.message;
  if (record.error instanceof Error) return record.error.message;
  return "";
}

/** One socket, from `new WebSocket()` to its end: connect and `hello` deadlines, parsing. */
export function openConnection(options: ConnectionOptions): Connection {
  const { clock, handlers } = options;
  // Made once: this runs for every frame.
  const parseOptions = { maxChars: options.maxMessageChars };
  let opened = false;
  let greeted = false;
  let ended = false;
  let lastError = "";
  let shutdownFloorMs: number | undefined;
  let stopTimer: () => void = () => {};

  const socket: WebSocketLike = new options.WebSocket(options.url, [SUBPROTOCOL]);

  const detach = () => {
    ended = true;
    stopTimer();
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    // Keep a no-op error handler: some implementations throw on an unhandled error event.
    socket.onerror = () => {};
  };

  const end = (cause: TransitionCause) => {
    if (ended) return;
    detach();
    const refusedWith = opened ? undefined : /\b(429|503)\b/.exec(lastError)?.[1];
    const unavailable =
      refusedWith === "503" ||
      shutdownFloorMs !== undefined ||
      cause.code === CloseCode.ServiceRestart;
    handlers.onEnd({
      cause,
      greeted,
      ...(shutdownFloorMs === undefined ? {} : { shutdownFloorMs }),
      ...(refusedWith === undefined ? {} : { overloaded: true }),
      ...(unavailable ? { unavailable } : {}),
    });
  };

  const drop = (cause: TransitionCause) => {
    if (ended) return;
    const terminate = (socket as { terminate?: () => void }).terminate;
    try {
      if (typeof terminate === "function") terminate.call(socket);
      // Browsers only accept 1000 and 3000-4999 from scripts; the reason is cut to 123 bytes.
      else socket.close(CloseCode.Normal, truncateCloseReason(cause.reason));
    } catch {
      // Already closing: nothing more to do, the handlers are detached.
    }
    end(cause);
  };

  stopTimer = after(clock, options.connectTimeoutMs, () =>
    drop({
      reason: `the socket did not open within ${options.connectTimeoutMs} ms`,
      errorClass: "timeout",
    }),
  );

  socket.onopen = () => {
    if (ended) return;
    opened = true;
    stopTimer();
    stopTimer = after(clock, options.helloTimeoutMs, () =>
      drop({
        reason: `the server sent no hello within ${options.helloTimeoutMs} ms`,
        errorClass: "timeout",
      }),
    );
  };

  socket.onerror = (event) => {
    lastError = errorText(event) || lastError;
  };

  socket.onclose = (event) => {
    if (ended) return;
    const code = typeof event.code === "number" ? event.code : CloseCode.Abnormal;
    const reason =
      event.reason ||
      (opened
        ? `the connection closed (${code})`
        : `the socket could not be opened${lastError ? `: ${lastError}` : ""}`);
    end({ code, reason, errorClass: classifyClose(code, opened, lastError) });
  };

  socket.onmessage = (event) => {
    if (ended) return;
    handlers.onFrame();
    const parsed = parseServerMessage(event.data, parseOptions);
    if (!parsed.ok) {
      handlers.onInvalid(parsed.error);
      return;
    }
    const message = parsed.message;
    if (!greeted) {
      if (message.type !== "hello") return;
      greeted = true;
      stopTimer();
      handlers.onHello(message);
      return;
    }
    if (message.type === "shutdown") shutdownFloorMs = message.reconnect_after_ms;
    handlers.onMessage(message);
  };

  return {
    get greeted() {
      return greeted;
    },
    send(frame) {
      if (ended || socket.readyState !== OPEN) return false;
      try {
        socket.send(frame);
        return true;
      } catch {
        return false;
      }
    },
    close(code, reason) {
      if (ended) return;
      detach();
      try {
        socket.close(code, reason);
      } catch {
        // A socket still connecting may refuse close() in some implementations.
      }
    },
    abandon: drop,
  };
}
