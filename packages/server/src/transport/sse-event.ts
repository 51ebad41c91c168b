import { truncateCloseReason } from "@lifeline/protocol";

/**
 * The bytes of the HTTP fallback's event stream (PROTOCOL.md, "HTTP fallback (SSE)"),
 * following the WHATWG server-sent events format. A message's own event (one `data:` line
 * and a blank line) is prepared once per message, as `PreparedMessage.sseEvent`.
 */

/** The first bytes of every stream: a comment, so buffering proxies pass the headers on. */
export const SSE_OPENING = Buffer.from(":ok\n\n");

/**
 * The close event that ends a stream: the code and reason a WebSocket close frame would
 * carry (the reason cut to the same 123 bytes, so both wires tell the same thing).
 */
export function sseCloseEvent(code: number, reason: string): Buffer {
  const data = JSON.stringify({ code, reason: truncateCloseReason(reason) });
  return Buffer.from(`event: close\ndata: ${data}\n\n`);
}
