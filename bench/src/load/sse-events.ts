/**
 * Cuts Lifeline's event stream (PROTOCOL.md, "HTTP fallback (SSE)") into events as its
 * bytes arrive, without decoding them to strings: the load side should cost as little per
 * message as `ws`'s own frame parser does. Lifeline writes each message as one
 * `data: <json>\n\n` event, comments as `:<text>\n\n` and the end of a stream as
 * `event: close\ndata: {"code":<n>,"reason":"..."}\n\n`; nothing else is read here.
 */

const BLANK_LINE = Buffer.from("\n\n");
const DATA = Buffer.from("data: ");
const CLOSE = Buffer.from("event: close\ndata: ");

/** Compares in place: no copy, and no search past the prefix. */
function startsWith(buffer: Buffer, prefix: Buffer): boolean {
  return (
    buffer.length >= prefix.length &&
    buffer.compare(prefix, 0, prefix.length, 0, prefix.length) === 0
  );
}

export interface SseEvents {
  /** One message event: its JSON text, as bytes (a view valid during the call). */
  data(json: Buffer): void;
  /** The close event, with the code a WebSocket close would carry. */
  close(code: number, reason: string): void;
}

export class SseEventSplitter {
  private pending: Buffer | undefined;

  constructor(private readonly on: SseEvents) {}

  /** Hands every event `chunk` completes to the listeners; keeps the incomplete rest. */
  push(chunk: Buffer): void {
    let buffer = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    for (let end = buffer.indexOf(BLANK_LINE); end >= 0; end = buffer.indexOf(BLANK_LINE)) {
      if (startsWith(buffer, DATA)) {
        this.on.data(buffer.subarray(DATA.length, end));
      } else if (startsWith(buffer, CLOSE)) {
        this.closeEvent(buffer.subarray(CLOSE.length, end));
      }
      buffer = buffer.subarray(end + BLANK_LINE.length);
    }
    this.pending = buffer.length === 0 ? undefined : buffer;
  }

  private closeEvent(json: Buffer): void {
    try {
      const { code, reason } = JSON.parse(json.toString()) as { code?: unknown; reason?: unknown };
      this.on.close(
        typeof code === "number" ? code : 1006,
        typeof reason === "string" ? reason : "",
      );
    } catch {
      this.on.close(1006, "");
    }
  }
}
