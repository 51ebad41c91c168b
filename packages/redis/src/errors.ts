/** Stable codes of {@link RedisBrokerError}. */
export const RedisBrokerErrorCode = {
  /** Redis is not connected: the operation was not attempted. */
  Unavailable: "redis_unavailable",
  /**
   * The command was sent but no reply came (connection lost or timed out): the append may
   * or may not have happened. Retrying with the same `dedupeKey` is safe.
   */
  OutcomeUnknown: "redis_outcome_unknown",
  /** Redis answered with an error. */
  CommandFailed: "redis_command_failed",
  /** The value could not be encoded (as JSON, or as MessagePack when it holds bytes). */
  InvalidData: "invalid_data",
  /** An option has a value the broker cannot work with. */
  InvalidOptions: "invalid_options",
  /** The broker or lease was closed. */
  Closed: "closed",
} as const;

export type RedisBrokerErrorCode = (typeof RedisBrokerErrorCode)[keyof typeof RedisBrokerErrorCode];

/** An error the Redis broker throws or rejects with, with a stable `code`. */
export class RedisBrokerError extends Error {
  /** Always `"RedisBrokerError"`. */
  override readonly name = "RedisBrokerError";
  /** A stable code from `RedisBrokerErrorCode`. */
  readonly code: RedisBrokerErrorCode;

  constructor(code: RedisBrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
