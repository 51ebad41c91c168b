/**
 * WebSocket close codes used by Lifeline, with what each means and whether a client
 * should reconnect after it. 1000-1013 are RFC 6455 / IANA codes; 4000-4999 are
 * private-use codes (RFC 6455 section 7.4.2) defined by this protocol.
 */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Abnormal: 1006,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadHandshake: 4400,
  Unauthenticated: 4401,
  Forbidden: 4403,
  SessionReplaced: 4409,
  TooManyConnections: 4429,
  HandshakeError: 4500,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * How a client treats a close:
 * - `none`: do not reconnect (the application or the peer asked for it);
 * - `fatal`: do not reconnect; the connection cannot succeed without a change
 *   (credentials, configuration, another tab owning the session);
 * - `backoff`: reconnect on the normal backoff schedule;
 * - `slow`: reconnect, but back off harder (the server is shedding load);
 * - `server`: reconnect after the delay the server announced in `shutdown`.
 */
export type RetryClass = "none" | "fatal" | "backoff" | "slow" | "server";

/** What a close code means and how a client should react to it. */
export interface CloseCodeInfo {
  /** The code's name in PROTOCOL.md (`service_restart`, ...). */
  readonly name: string;
  /** What the code means, in one line. */
  readonly description: string;
  /** How a client reacts: no reconnect, fatal, backoff, a slower backoff, or the server's delay. */
  readonly retry: RetryClass;
}

/** The meaning and retry class of each protocol close code (PROTOCOL.md, "Close codes"). */
export const closeCodeInfo: Readonly<Record<CloseCode, CloseCodeInfo>> = {
  1000: { name: "normal", description: "normal closure, asked for by one side", retry: "none" },
  // 1006 is never sent (RFC 6455 section 7.4.1): clients see it when the link dropped.
  1001: { name: "going_away", description: "the peer is going away", retry: "backoff" },
  1006: {
    name: "abnormal",
    description: "the connection dropped without a close frame",
    retry: "backoff",
  },
  1008: {
    name: "policy_violation",
    description: "repeated invalid messages or abuse",
    retry: "backoff",
  },
  1009: {
    name: "message_too_big",
    description: "a message exceeded the payload limit; it was dropped",
    retry: "backoff",
  },
  1011: { name: "internal_error", description: "internal server error", retry: "backoff" },
  1012: {
    name: "service_restart",
    description: "graceful shutdown; reconnect after reconnect_after_ms",
    retry: "server",
  },
  1013: {
    name: "try_again_later",
    description: "server overloaded or the client consumed too slowly",
    retry: "slow",
  },
  4400: {
    name: "bad_handshake",
    description: "unsupported version or missing/invalid client_id",
    retry: "fatal",
  },
  4401: {
    name: "unauthenticated",
    description: "unauthenticated or invalid role",
    retry: "fatal",
  },
  4403: { name: "forbidden", description: "the principal may not connect", retry: "fatal" },
  4409: {
    name: "session_replaced",
    description: "a newer connection with the same client_id took over",
    retry: "fatal",
  },
  4429: {
    name: "too_many_connections",
    description: "too many connections or handshakes for this client",
    retry: "slow",
  },
  4500: {
    name: "handshake_error",
    description: "server error during the handshake",
    retry: "backoff",
  },
};

/**
 * Registered codes this protocol never sends but a client may observe (RFC 6455 section
 * 7.4.1, IANA registry). 1005 and 1015 are, like 1006, reported locally and never sent.
 */
const otherCloseCodes: Readonly<Record<number, CloseCodeInfo>> = {
  1002: { name: "protocol_error", description: "WebSocket protocol error", retry: "backoff" },
  1003: { name: "unsupported_data", description: "unsupported data type", retry: "backoff" },
  1005: { name: "no_status", description: "closed without a status code", retry: "backoff" },
  1007: { name: "invalid_payload", description: "invalid frame payload data", retry: "backoff" },
  1010: {
    name: "mandatory_extension",
    description: "a required extension is missing",
    retry: "backoff",
  },
  1014: { name: "bad_gateway", description: "a gateway got an invalid response", retry: "backoff" },
  1015: { name: "tls_handshake", description: "TLS handshake failed", retry: "backoff" },
};

/**
 * Describes any close code, including ones this protocol does not define: unknown
 * codes are retried with backoff, so a newer server's codes do not strand old clients.
 */
export function describeCloseCode(code: number): CloseCodeInfo {
  if (Object.hasOwn(closeCodeInfo, code))
    return (closeCodeInfo as Record<number, CloseCodeInfo>)[code]!;
  if (Object.hasOwn(otherCloseCodes, code)) return otherCloseCodes[code]!;
  if (Number.isInteger(code) && code >= 4000 && code <= 4999) {
    return { name: "application", description: `application close code ${code}`, retry: "backoff" };
  }
  return { name: "unknown", description: `close code ${String(code)}`, retry: "backoff" };
}

/** True when a client must not reconnect after this close (it would fail the same way). */
export function isFatalClose(code: number): boolean {
  return describeCloseCode(code).retry === "fatal";
}

/** True when a client should reconnect after this close (neither asked for nor fatal). */
export function shouldReconnect(code: number): boolean {
  const { retry } = describeCloseCode(code);
  return retry !== "fatal" && retry !== "none";
}

/** RFC 6455 section 5.5: a close frame's payload is at most 125 bytes, 2 of them the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Cuts a close reason to 123 UTF-8 bytes without splitting a character
 * (cutting by characters would overflow the frame with multi-byte text).
 */
export function truncateCloseReason(reason: string): string {
  let bytes = 0;
  let end = 0;
  for (const char of reason) {
    const point = char.codePointAt(0) ?? 0;
    const size = point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
    if (bytes + size > MAX_CLOSE_REASON_BYTES) return reason.slice(0, end);
    bytes += size;
    end += char.length;
  }
  return reason;
}
