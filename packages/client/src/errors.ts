import { ErrorCode } from "@lifeline/protocol";

/**
 * Codes of errors the client raises itself. Server error codes (`ErrorCode` from
 * `@lifeline/protocol`: `unknown_method`, `forbidden`, `rate_limited`, ...) reach the
 * application unchanged, so one `switch (error.code)` covers both.
 */
export const ClientErrorCode = {
  /** The request got no response within its `timeoutMs`. */
  Timeout: ErrorCode.Timeout,
  /** The application closed the client (`close()`) before the operation completed. */
  Closed: "closed",
  /** The operation's `AbortSignal` fired. */
  Aborted: "aborted",
  /** The outbox was full while the connection was down; the new message was refused. */
  QueueFull: "queue_full",
  /** The connection carrying a request dropped before its response arrived. */
  ConnectionLost: "connection_lost",
  /** Params or data did not match the contract, or the server sent something invalid. */
  InvalidMessage: ErrorCode.InvalidMessage,
} as const;

export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Every code a `LifelineError` may carry: the client's own and the server's. */
export type LifelineErrorCode = ClientErrorCode | ErrorCode | (string & {});

/** The one error class the client rejects with; switch on its stable `code`. */
export class LifelineError extends Error {
  /** Always `"LifelineError"`. */
  override readonly name = "LifelineError";
  /**
   * A stable code: a protocol error code, an application's own, or a local one (`closed`,
   * `timeout`, ...).
   */
  readonly code: LifelineErrorCode;

  constructor(code: LifelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for a `LifelineError`: a failure of the client with a stable `code`. */
export function isLifelineError(value: unknown): value is LifelineError {
  return value instanceof LifelineError;
}
