import { truncateCloseReason } from "@lifeline/protocol";

/**
 * The bytes of the HTTP fallback's event stream (PROTOCOL.md, "HTTP fallback (SSE)"),
 * following the WHATWG server-sent events format: one `data:` line per message (the JSON
 * of a message has no raw newline, so it never needs a second line) and a blank line
 * ending the event.
 */

/** The first bytes of every stream: a comment, so buffering proxies pass the headers on. */
export const SSE_OPENING = Buffer.from(":ok\n\n");

/** `text` (one JSON message) as an event. */
export function sseDataEvent(text: string): Buffer {
  const bytes = Buffer.byteLength(text);
  const event = Buffer.allocUnsafe(bytes + 8);
  event.write("data: ", 0, "latin1");
  event.write(text, 6, "utf8");
  event.write("\n\n", bytes + 6, "latin1");
  return event;
}

/**
 * The close event that ends a stream: the code and reason a WebSocket close frame would
 * carry (the reason cut to the same 123 bytes, so both wires tell the same thing).
 */
export function sseCloseEvent(code: number, reason: string): Buffer {
  const data = JSON.stringify({ code, reason: truncateCloseReason(reason) });
  return Buffer.from(`event: close\ndata: ${data}\n\n`);
}
