import { CloseCode } from "@lifeline/protocol";
import type { ErrorClass } from "../state/machine.js";

/** Close codes a server uses to refuse a handshake it accepted at the HTTP level. */
const handshakeCodes = new Set<number>([
  CloseCode.BadHandshake,
  CloseCode.Forbidden,
  CloseCode.TooManyConnections,
  CloseCode.HandshakeError,
]);

/** RFC 6455 section 7.4.1: 1005 reports a close frame without a status code. */
const NO_STATUS = 1005;

/** The error class of a socket that closed with `code` (`opened`: it had opened at all). */
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

/** The message of an `error` event, whatever the implementation calls it. */
export function errorText(event: unknown): string {
  if (typeof event !== "object" || event === null) return "";
  const record = event as { message?: unknown; error?: unknown };
  if (typeof record.message === "string") return record.message;
  if (record.error instanceof Error) return record.error.message;
  return "";
}
