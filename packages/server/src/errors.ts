import { type CloseCode, ErrorCode } from "@lifeline/protocol";

/**
 * A typed failure a method handler throws on purpose: its `code` and `message` reach the
 * client in a failed `response`. Any other thrown value answers `internal` with a generic
 * message, so stack traces and internals never leak.
 */
export class MethodError extends Error {
  /** Always `"MethodError"`. */
  override readonly name = "MethodError";
  /** The code the client receives in the failed `response`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Thrown by an `authenticate` hook to refuse a connection. The socket is closed with
 * `closeCode` (default 4401 unauthenticated; use 4403 for a known principal who may not
 * connect) and `message` as the close reason, cut to 123 bytes.
 */
export class AuthError extends Error {
  /** Always `"AuthError"`. */
  override readonly name = "AuthError";
  /** The close code the socket is closed with: 4401 or 4403. */
  readonly closeCode: CloseCode;

  constructor(message: string, closeCode: CloseCode = 4401, options?: { cause?: unknown }) {
    super(message, options);
    this.closeCode = closeCode;
  }
}

/** Stable codes of errors the server itself throws to the application. */
export const ServerErrorCode = {
  /** `createServer` got options it cannot work with. */
  InvalidOptions: "LIFELINE_INVALID_OPTIONS",
  /** `publish` or `method` was called after `close()`. */
  Closed: "LIFELINE_SERVER_CLOSED",
  /** A topic payload does not match the contract. */
  InvalidData: "LIFELINE_INVALID_DATA",
  /** The memory broker holds `maxTopics` topics: a new one is refused until some expire. */
  TopicLimit: "LIFELINE_TOPIC_LIMIT",
  /** `publishDelta` already keeps `deltas.maxKeys` keys: a new one is refused. */
  DeltaKeyLimit: "LIFELINE_DELTA_KEY_LIMIT",
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

/** An error the server throws to the application, with a stable `code` (`ServerErrorCode`). */
export class LifelineServerError extends Error {
  /** Always `"LifelineServerError"`. */
  override readonly name = "LifelineServerError";
  /** A stable code from `ServerErrorCode`. */
  readonly code: ServerErrorCode;

  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The error body a client sees for an unexpected failure: never the original message. */
export const internalErrorBody = {
  code: ErrorCode.Internal,
  message: "internal server error",
} as const;
