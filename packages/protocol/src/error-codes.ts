/**
 * Error codes carried by `error` messages and failed `response`s. Stable strings:
 * clients switch on them, so a code is never renamed.
 */
export const ErrorCode = {
  InvalidMessage: "invalid_message",
  UnknownType: "unknown_type",
  UnknownMethod: "unknown_method",
  Unauthorized: "unauthorized",
  Forbidden: "forbidden",
  RateLimited: "rate_limited",
  Timeout: "timeout",
  Internal: "internal",
  Overloaded: "overloaded",
  LimitExceeded: "limit_exceeded",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A one-line meaning of each protocol error code (PROTOCOL.md, "Error codes"). */
export const errorCodeDescriptions: Readonly<Record<ErrorCode, string>> = {
  invalid_message: "the message is not JSON, not an object, or does not match its schema",
  unknown_type: "the message's type is not one this protocol defines",
  unknown_method: "no handler is registered for the requested method",
  unauthorized: "the connection's principal is not authenticated for this action",
  forbidden: "the principal may not perform this action on this topic or method",
  rate_limited: "the connection sent more messages than its rate limit allows; retry later",
  timeout: "the request did not complete within its timeout",
  internal: "the server failed while handling the message; details are in its logs",
  overloaded: "the server cannot take more work right now; retry with backoff",
  limit_exceeded:
    "the connection holds as many of these (subscriptions) as the server allows; asking again will not help until it releases one",
};

const errorCodes = new Set<string>(Object.values(ErrorCode));

/** True for one of the protocol's error codes (applications may answer others). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && errorCodes.has(value);
}
