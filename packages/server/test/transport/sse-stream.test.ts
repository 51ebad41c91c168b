import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { deferred, openSse, type SseTestClient } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { prepareMessage } from "../../src/transport/prepared-message.js";
import { sseCloseEvent } from "../../src/transport/sse-event.js";
import { keysMatch } from "../../src/transport/sse-post.js";
import { SseStream } from "../../src/transport/sse-stream.js";

describe("SseStream", () => {
  let server: Server | undefined;
  const streams: SseTestClient[] = [];
  afterEach(async () => {
    for (const stream of streams.splice(0)) await stream.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** A server that opens an SseStream on every request, and a client reading it. */
  async function opened(): Promise<{
    stream: SseStream;
    client: SseTestClient;
    response: ServerResponse;
  }> {
    const made = deferred<{ stream: SseStream; response: ServerResponse }>();
    server = createServer((_request, response: ServerResponse) => {
      made.resolve({
        stream: SseStream.open(response, "k".repeat(22), { "X-Test": "yes" }),
        response,
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const client = await openSse(`http://127.0.0.1:${port}/`);
    streams.push(client);
    return { ...(await made.promise), client };
  }

  it("answers with the stream headers and the opening comment", async () => {
    const { client } = await opened();
    expect(client.status).toBe(200);
    expect(client.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(client.headers["cache-control"]).toBe("no-cache, no-transform");
    expect(client.headers["x-accel-buffering"]).toBe("no");
    expect(client.headers["x-test"]).toBe("yes");
  });

  it("delivers events, several joined in one write, in order", async () => {
    const { stream, client } = await opened();
    const events = [1, 2, 3].map((n) => prepareMessage(JSON.stringify({ type: "n", n })).sseEvent);
    stream.write(events[0] as Buffer);
    stream.writeMany(events.slice(1), (events[1] as Buffer).length + (events[2] as Buffer).length);
    await client.next((m) => m.n === 3, "the third event");
    expect(client.received.map((m) => m.n)).toEqual([1, 2, 3]);
    expect(client.comments).toEqual(["ok"]);
  });

  it("hands each event to the socket at once, not at the next tick (a fan-out loop must not hold it)", async () => {
    const { stream, client, response } = await opened();
    const socket = response.socket;
    stream.write(prepareMessage('{"type":"now"}').sseEvent);
    expect(socket?.writableCorked).toBe(0);
    stream.writeMany([Buffer.from('data: {"n":1}\n\n'), Buffer.from('data: {"n":2}\n\n')], 30);
    expect(socket?.writableCorked).toBe(0);
    expect(await client.next((m) => m.n === 2)).toEqual({ n: 2 });
    expect(client.headers["transfer-encoding"]).toBeUndefined();
    expect(client.headers.connection).toBe("close");
  });

  it("ends with the close event, and reports its code once the response is over", async () => {
    const { stream, client } = await opened();
    const ended = deferred<{ code: number; reason: string }>();
    stream.onEnded((code, reason) => ended.resolve({ code, reason }));
    stream.close(4409, "session replaced");
    expect(stream.isOpen).toBe(false);
    expect(await client.closed).toEqual({ code: 4409, reason: "session replaced" });
    expect(await ended.promise).toEqual({ code: 4409, reason: "session replaced" });
    stream.write(Buffer.from("data: {}\n\n"));
    stream.close(1000, "twice");
  });

  it("reports 1006 when the peer goes away without a close event", async () => {
    const { stream, client } = await opened();
    const ended = deferred<number>();
    stream.onEnded((code) => ended.resolve(code));
    await client.close();
    expect(await ended.promise).toBe(1006);
    expect(stream.isOpen).toBe(false);
  });

  it("terminates without a close event", async () => {
    const { stream, client } = await opened();
    stream.terminate();
    expect((await client.closed).code).toBe(1006);
  });
});

describe("sse events", () => {
  it("frame a message as one data line and a blank line", () => {
    expect(prepareMessage('{"t":"é"}').sseEvent.toString()).toBe('data: {"t":"é"}\n\n');
  });

  it("cut the close reason to the 123 bytes of a WebSocket close", () => {
    const text = sseCloseEvent(4401, "x".repeat(200)).toString();
    expect(text.startsWith("event: close\ndata: ")).toBe(true);
    const data = JSON.parse(text.slice(19)) as { code: number; reason: string };
    expect(data.code).toBe(4401);
    expect(data.reason).toHaveLength(123);
  });
});

describe("keysMatch", () => {
  it("matches the same key only", () => {
    const key = "q3Z0Yb2m9R-7xKpD_4s1Lw";
    expect(keysMatch(key, key)).toBe(true);
    expect(keysMatch(key, `${key.slice(0, -1)}x`)).toBe(false);
    expect(keysMatch(key, key.slice(1))).toBe(false);
    expect(keysMatch(key, "")).toBe(false);
    expect(keysMatch("", "")).toBe(false);
  });
});
