/**
 * A `text/event-stream` parser (WHATWG HTML, "Server-sent events", 9.2.6 "Interpreting an
 * event stream") for the SSE transport: text arrives in arbitrary chunks, lines end in
 * CRLF, LF or a lone CR (a CRLF may be split between two chunks), `:` starts a comment,
 * `data:` lines of one event are joined with `\n`, a blank line dispatches. `id` and
 * `retry` are read and ignored: the client resumes by topic offsets, and its own backoff
 * decides when to reconnect (PROTOCOL.md, "HTTP fallback (SSE)").
 */

/** One dispatched event. */
export interface StreamEvent {
  /** The `event:` field, `"message"` when absent. */
  readonly type: string;
  /** The `data:` lines, joined with `\n`. */
  readonly data: string;
}

export interface EventStreamParser {
  /**
   * Parses the next chunk of text, calling `onEvent` for every event it completes. Returns
   * false, and ignores everything after, once an event or a line outgrows `maxEventChars`.
   */
  push(text: string): boolean;
}

export interface EventStreamOptions {
  /** The most characters one event (its fields and line ends) may take. */
  readonly maxEventChars: number;
  readonly onEvent: (event: StreamEvent) => void;
}

const LF = 10;
const CR = 13;

export function createEventStreamParser(options: EventStreamOptions): EventStreamParser {
  const { maxEventChars, onEvent } = options;
  /** The start of a line not yet ended, kept between chunks. */
  let partial = "";
  let data: string[] = [];
  let type = "";
  /** Characters of the event being collected, counting the unfinished line. */
  let eventChars = 0;
  /** A chunk ended in CR: an LF starting the next one belongs to the same line end. */
  let skipLf = false;
  let first = true;
  let broken = false;

  const dispatch = () => {
    if (data.length > 0) onEvent({ type: type === "" ? "message" : type, data: data.join("\n") });
    data = [];
    type = "";
    eventChars = 0;
  };

  const line = (text: string) => {
    if (text === "") {
      dispatch();
      return;
    }
    if (text.charCodeAt(0) === 58 /* ":" */) return;
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.charCodeAt(0) === 32 /* " " */) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") type = value;
  };

  return {
    push(chunk) {
      if (broken) return false;
      if (chunk === "") return true;
      let text = chunk;
      // A byte order mark may open the stream (9.2.6); never part of the first field.
      if (first) {
        first = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      let start = 0;
      if (skipLf && text.charCodeAt(0) === LF) start = 1;
      skipLf = false;
      for (let i = start; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code !== LF && code !== CR) continue;
        const whole = partial + text.slice(start, i);
        partial = "";
        eventChars += whole.length + 1;
        if (eventChars > maxEventChars) break;
        line(whole);
        if (code === CR) {
          if (i + 1 === text.length) skipLf = true;
          else if (text.charCodeAt(i + 1) === LF) i += 1;
        }
        start = i + 1;
      }
      if (eventChars <= maxEventChars) {
        partial += text.slice(start);
        if (eventChars + partial.length <= maxEventChars) return true;
      }
      broken = true;
      partial = "";
      data = [];
      return false;
    },
  };
}
