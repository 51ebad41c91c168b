/**
 * The connection lifecycle as a discriminated set of states and one pure `transition`.
 * The client never sets a state directly: it feeds events here and applies the result,
 * so every legal move is listed in one table (README, "Connection lifecycle").
 */

/** Where the connection stands. */
export type ConnectionStatus =
  /** Created, nothing attempted yet (lazy clients wait here for their first use). */
  | "idle"
  /** A socket is being opened, or is open and waiting for the server's `hello`. */
  | "connecting"
  /** `hello` received; messages flow. */
  | "open"
  /** Open, but the server's heartbeats are late; a probe `ping` was sent. */
  | "degraded"
  /** The connection dropped; a new attempt is scheduled (or paused while offline). */
  | "reconnecting"
  /** Given up: a fatal close code, or every attempt spent. `reconnect()` starts again. */
  | "failed"
  /** Closed by the application (`close()`). */
  | "closed";

/**
 * Why a connection ended or an attempt failed:
 * - `network`: no socket could be opened (refused, DNS, offline, readiness probe down);
 * - `handshake`: the server refused the upgrade or closed it with a handshake code (4400, 4403, 4429, 4500);
 * - `auth`: the credentials were refused or expired (4401 at the handshake or later, or a
 *   refresh refused twice, PROTOCOL.md "Credentials in band");
 * - `server_error`: the server closed an established connection (1001, 1011, 1012, 1013, 4409, ...);
 * - `abnormal`: the socket dropped without a close frame (1006);
 * - `timeout`: connect, `hello` or heartbeat deadline passed;
 * - `unknown`: anything else (a throwing token provider, an unexpected code).
 */
export type ErrorClass =
  | "network"
  | "handshake"
  | "auth"
  | "server_error"
  | "abnormal"
  | "timeout"
  | "unknown";

/** What caused a transition. `code` and `errorClass` are present when a close or failure caused it. */
export interface TransitionCause {
  /** The WebSocket close code, when a close caused the transition. */
  readonly code?: number;
  /** Human-readable reason: the server's close reason, or what the client observed. */
  readonly reason: string;
  /**
   * The class of failure: `network`, `handshake`, `server_error`, `abnormal`, `timeout` or
   * `unknown`.
   */
  readonly errorClass?: ErrorClass;
}

export type LifecycleEvent =
  /** The application (or lazy use) asks for a connection. */
  | { readonly type: "connect" }
  /** The server's `hello` arrived. */
  | { readonly type: "hello" }
  /** The watchdog saw heartbeats arriving late. */
  | { readonly type: "heartbeat_late" }
  /** A frame arrived after `heartbeat_late`. */
  | { readonly type: "heartbeat_ok" }
  /** The socket ended or the attempt failed; `retry` says whether another attempt is planned. */
  | { readonly type: "drop"; readonly retry: boolean }
  /** The retry delay elapsed (or the page came back online/visible). */
  | { readonly type: "retry" }
  /** The application called `close()`. */
  | { readonly type: "close" };

const table: Readonly<
  Record<ConnectionStatus, Partial<Record<LifecycleEvent["type"], ConnectionStatus>>>
> = {
  idle: { connect: "connecting", close: "closed" },
  connecting: { hello: "open", drop: "reconnecting", close: "closed" },
  open: { heartbeat_late: "degraded", drop: "reconnecting", close: "closed" },
  degraded: { heartbeat_ok: "open", drop: "reconnecting", close: "closed" },
  reconnecting: { retry: "connecting", connect: "connecting", close: "closed" },
  failed: { connect: "connecting", retry: "connecting", close: "closed" },
  closed: { connect: "connecting" },
};

/**
 * The state after `event`, or `undefined` when the event does not apply in `state`
 * (a late timer or a stale socket's callback; the caller ignores it).
 */
export function transition(
  state: ConnectionStatus,
  event: LifecycleEvent,
): ConnectionStatus | undefined {
  if (event.type === "drop" && !event.retry) {
    return state === "closed" || state === "idle" || state === "failed" ? undefined : "failed";
  }
  return table[state][event.type];
}

/** True while a socket exists and carries application messages. */
export function isOpen(state: ConnectionStatus): boolean {
  return state === "open" || state === "degraded";
}
