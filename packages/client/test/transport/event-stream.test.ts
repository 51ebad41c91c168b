import { describe, expect, it } from "vitest";
import { createEventStreamParser, type StreamEvent } from "../../src/transport/event-stream.js";

function parse(chunks: readonly string[], maxEventChars = 1000) {
  const events: StreamEvent[] = [];
  const parser = createEventStreamParser({ maxEventChars, onEvent: (e) => events.push(e) });
  const results = chunks.map((chunk) => parser.push(chunk));
  return { events, results };
}

/** Every way to cut `text` in two. */
function everySplit(text: string): string[][] {
  return Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]);
}

describe("event-stream parser", () => {
  it("dispatches one event per blank line, joining data lines with a newline", () => {
    const { events } = parse(['data: {"a":1}\n\ndata: one\ndata: two\n\n']);
    expect(events).toEqual([
      { type: "message", data: '{"a":1}' },
      { type: "message", data: "one\ntwo" },
    ]);
  });

  it("reads LF, CRLF and lone CR line ends alike", () => {
    for (const end of ["\n", "\r\n", "\r"]) {
      const { events } = parse([
        `data: x${end}data: y${end}${end}event: close${end}data: z${end}${end}`,
      ]);
      expect(events).toEqual([
        { type: "message", data: "x\ny" },
        { type: "close", data: "z" },
      ]);
    }
  });

  it("gives the same events wherever the chunks are cut, a CRLF split included", () => {
    const text =
      ':ok\r\n\r\ndata: {"type":"hello"}\r\n\r\nevent: close\r\ndata: {"code":4409}\r\n\r\n';
    const expected = [
      { type: "message", data: '{"type":"hello"}' },
      { type: "close", data: '{"code":4409}' },
    ];
    for (const chunks of everySplit(text)) expect(parse(chunks).events).toEqual(expected);
    expect(parse([...text]).events).toEqual(expected);
  });

  it("ignores comments, unknown fields, id and retry, and events without data", () => {
    const { events } = parse([
      ": keep-alive\n\nid: 7\nretry: 10\nfoo: bar\ndata: kept\n\nevent: close\n\n",
    ]);
    expect(events).toEqual([{ type: "message", data: "kept" }]);
  });

  it("strips one space after the colon only, and takes a line without colon as a field name", () => {
    const { events } = parse(["data:  two spaces\ndata\ndata:none\n\n"]);
    expect(events).toEqual([{ type: "message", data: " two spaces\n\nnone" }]);
  });

  it("drops a byte order mark that opens the stream", () => {
    expect(parse(["\ufeffdata: x\n\n"]).events).toEqual([{ type: "message", data: "x" }]);
  });

  it("keeps an unfinished event until its blank line arrives", () => {
    const { events } = parse(["data: x\n", "data: y"]);
    expect(events).toEqual([]);
  });

  it("refuses an event longer than the bound, also when no line end ever comes", () => {
    const long = parse([`data: ${"x".repeat(50)}\n`, `data: ${"y".repeat(50)}\n\n`], 80);
    expect(long.results).toEqual([true, false]);
    expect(long.events).toEqual([]);
    const endless = parse(["data: ", "z".repeat(60), "z".repeat(60)], 100);
    expect(endless.results).toEqual([true, true, false]);
    // Once refused, nothing more is parsed.
    const after = createEventStreamParser({ maxEventChars: 10, onEvent: () => {} });
    expect(after.push("data: 0123456789\n")).toBe(false);
    expect(after.push("data: x\n\n")).toBe(false);
  });

  it("counts the bound per event, not per stream", () => {
    const events = parse(
      Array.from({ length: 50 }, () => "data: 0123456789\n\n"),
      40,
    ).events;
    expect(events).toHaveLength(50);
  });
});
