import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { deferred, within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { SseSocket, type SseSocketOptions } from "../../src/transport/sse.js";
import { utf8Length } from "../../src/transport/sse-posts.js";
import { deriveSseUrl, sendUrl } from "../../src/transport/sse-wire.js";
import { scriptedSseServer, sseHello } from "../helpers/sse-server.js";

type Server = Awaited<ReturnType<typeof scriptedSseServer>>;

interface CloseEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** Records what a socket reports; `closed` resolves with its close event. */
function watch(socket: SseSocket) {
  const messages: string[] = [];
  const errors: string[] = [];
  const opened = deferred();
  const closed = deferred<CloseEvent>();
  let messageWaiter: { count: number; resolve: () => void } | undefined;
  socket.onopen = () => opened.resolve();
  socket.onmessage = (event) => {
    messages.push(event.data);
    if (messageWaiter && messages.length >= messageWaiter.count) messageWaiter.resolve();
  };
  socket.onerror = (event) => errors.push(event.message);
  socket.onclose = (event) => closed.resolve(event);
  return {
    messages,
    errors,
    opened,
    closed: closed.promise,
    received(count: number): Promise<void> {
      if (messages.length >= count) return Promise.resolve();
      return new Promise((resolve) => {
        messageWaiter = { count, resolve };
      });
    },
  };
}

let server: Server;
const sockets: SseSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await server?.close();
});

async function open(options: SseSocketOptions = {}) {
  server = await scriptedSseServer();
  const streamOpened = server.nextStream();
  const socket = new SseSocket(server.url, options);
  sockets.push(socket);
  const seen = watch(socket);
  const stream = await within(streamOpened, "the stream request");
  await within(seen.opened.promise, "open");
  return { socket, seen, stream };
}

async function greeted(options: SseSocketOptions = {}) {
  const opened = await open(options);
  opened.stream.write(":ok\n\n");
  opened.stream.event(sseHello());
  await within(opened.seen.received(1), "hello");
  return opened;
}

describe("SSE socket: the stream", () => {
  it("opens on a 200 event stream and hands each data event up, hello without its sse_key", async () => {
    const { socket, seen, stream } = await open();
    expect(socket.readyState).toBe(1);
    expect(stream.url.searchParams.get("client_id")).toBe("c1");
    stream.write(":ok\n\n");
    stream.event(sseHello("c.7", "secret-key-of-22-chars"));
    stream.write('data: {"type":"ping"}\r\n\r\n');
    await within(seen.received(2), "two messages");
    const hello = JSON.parse(seen.messages[0] as string);
    expect(hello).toMatchObject({ type: "hello", connection_id: "c.7" });
    expect(hello).not.toHaveProperty("sse_key");
    expect(seen.messages[1]).toBe('{"type":"ping"}');
  });

  it("closes with the code and reason of the server's close event", async () => {
    const { seen, stream } = await greeted();
    stream.write('event: close\ndata: {"code":4409,"reason":"replaced by a newer connection"}\n\n');
    const closed = await within(seen.closed, "close");
    expect(closed).toEqual({
      type: "close",
      code: 4409,
      reason: "replaced by a newer connection",
      wasClean: true,
    });
    expect(seen.errors).toEqual([]);
  });

  it("reports 1006 when the stream ends without a close event", async () => {
    const { socket, seen, stream } = await greeted();
    stream.end();
    expect(await within(seen.closed, "close")).toMatchObject({ code: 1006, wasClean: false });
    expect(seen.errors[0]).toMatch(/ended without a close event/);
    expect(socket.readyState).toBe(3);
  });

  it("reports a refusal's HTTP status like a refused upgrade, and never opens", async () => {
    server = await scriptedSseServer();
    server.onStream((_request, response) => {
      response
        .writeHead(403, { "content-type": "application/json" })
        .end('{"code":403,"reason":"origin not allowed"}');
      return true;
    });
    const socket = new SseSocket(server.url);
    sockets.push(socket);
    const seen = watch(socket);
    expect(await within(seen.closed, "close")).toMatchObject({ code: 1006, wasClean: false });
    expect(seen.opened.settled).toBe(false);
    expect(seen.errors).toEqual(["Unexpected server response: 403 (origin not allowed)"]);
  });

  it("takes a 200 that is not an event stream (a proxy's page) for a refusal", async () => {
    server = await scriptedSseServer();
    server.onStream((_request, response) => {
      response.writeHead(200, { "content-type": "text/html" }).end("<html>sign in</html>");
      return true;
    });
    const seen = watch(new SseSocket(server.url));
    expect(await within(seen.closed, "close")).toMatchObject({ code: 1006 });
    expect(seen.errors[0]).toMatch(/Unexpected server response: content type "text\/html"/);
  });

  it("reports a network failure as 1006 with the cause", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const seen = watch(new SseSocket(`http://127.0.0.1:${port}/sse`));
    expect(await within(seen.closed, "close")).toMatchObject({ code: 1006, wasClean: false });
    expect(seen.errors[0]).toMatch(/could not be opened: fetch failed: .*ECONNREFUSED/);
  });

  it("closes with 1009 on an event longer than the bound", async () => {
    const { seen, stream } = await greeted({ maxEventChars: 400 });
    stream.event({ type: "ping", pad: "x".repeat(400) });
    expect(await within(seen.closed, "close")).toMatchObject({ code: 1009 });
  });

  it("close() aborts the stream and reports the code asked for, without an error", async () => {
    const { socket, seen, stream } = await greeted();
    socket.close(1000, "bye");
    expect(socket.readyState).toBe(2);
    expect(await within(seen.closed, "close")).toEqual({
      type: "close",
      code: 1000,
      reason: "bye",
      wasClean: true,
    });
    await within(stream.gone, "the server to see the request end");
    expect(seen.errors).toEqual([]);
    stream.event({ type: "ping" });
    expect(seen.messages).toHaveLength(1);
  });

  it("ignores what arrives after a close event, and close() after it", async () => {
    const { socket, seen, stream } = await greeted();
    stream.write(
      'event: close\ndata: {"code":1001,"reason":"shutdown"}\n\ndata: {"type":"ping"}\n\n',
    );
    expect(await within(seen.closed, "close")).toMatchObject({ code: 1001 });
    socket.close();
    expect(seen.messages).toHaveLength(1);
  });
});

describe("SSE socket: sending", () => {
  it("posts the messages of one tick in one text/plain array to <path>/send with the id and key", async () => {
    const { socket } = await greeted();
    socket.send('{"type":"pong"}');
    socket.send('{"type":"ping"}');
    socket.send('{"type":"unsubscribe","id":"u1","topic":"a"}');
    await within(server.postsReceived(1), "a post");
    const [post] = server.posts;
    expect(post?.method).toBe("POST");
    expect(post?.url.pathname).toBe("/sse/send");
    expect(Object.fromEntries(post?.url.searchParams ?? [])).toEqual({
      connection_id: "c.1",
      key: "k".repeat(22),
    });
    expect(post?.headers["content-type"]).toBe("text/plain;charset=UTF-8");
    expect(JSON.parse(post?.body ?? "")).toEqual([
      { type: "pong" },
      { type: "ping" },
      { type: "unsubscribe", id: "u1", topic: "a" },
    ]);
  });

  it("serialises posts: what is sent while one is in flight goes in the next, in order", async () => {
    const { socket } = await greeted();
    const answers: (() => void)[] = [];
    server.onPost((_post, response) => answers.push(() => response.writeHead(204).end()));
    socket.send('{"n":1}');
    await within(server.postsReceived(1), "the first post");
    socket.send('{"n":2}');
    socket.send('{"n":3}');
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.posts).toHaveLength(1);
    answers.shift()?.();
    await within(server.postsReceived(2), "the second post");
    answers.shift()?.();
    expect(server.posts.map((post) => JSON.parse(post.body))).toEqual([
      [{ n: 1 }],
      [{ n: 2 }, { n: 3 }],
    ]);
    expect(socket.bufferedAmount).toBeGreaterThan(0);
  });

  it("holds what is sent before the hello and posts it once the key is known", async () => {
    const { socket, stream, seen } = await open();
    socket.send('{"n":1}');
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.posts).toHaveLength(0);
    stream.event(sseHello());
    await within(seen.received(1), "hello");
    await within(server.postsReceived(1), "the held post");
    expect(JSON.parse(server.posts[0]?.body ?? "")).toEqual([{ n: 1 }]);
  });

  it("cuts batches at the body size bound, counted in UTF-8 bytes", async () => {
    // Each message is 24 characters and 34 bytes: a body of two is 51 characters, 71 bytes.
    const { socket } = await greeted({ maxBodyBytes: 60 });
    for (let n = 0; n < 4; n++) socket.send(`{"n":${n},"p":"${"é".repeat(10)}"}`);
    await within(server.postsReceived(4), "four posts");
    for (const post of server.posts) expect(Buffer.byteLength(post.body)).toBeLessThanOrEqual(60);
    const numbers = server.posts.flatMap((post) =>
      JSON.parse(post.body).map((m: { n: number }) => m.n),
    );
    expect(numbers).toEqual([0, 1, 2, 3]);
  });

  it("cuts batches at 100 messages", async () => {
    const { socket } = await greeted();
    for (let n = 0; n < 250; n++) socket.send(`{"n":${n}}`);
    await within(server.postsReceived(3), "three posts");
    expect(server.posts.map((post) => JSON.parse(post.body).length)).toEqual([100, 100, 50]);
  });

  it("closes with 1006 when a post is answered 404, so the client reconnects", async () => {
    const { socket, seen } = await greeted();
    server.onPost((_post, response) => response.writeHead(404).end());
    socket.send('{"type":"pong"}');
    expect(await within(seen.closed, "close")).toMatchObject({ code: 1006, wasClean: false });
    expect(seen.errors).toEqual(["a post was answered with HTTP 404"]);
  });

  it("closes with 1009 when a post is answered 413", async () => {
    const { socket, seen } = await greeted();
    server.onPost((_post, response) => response.writeHead(413).end());
    socket.send('{"type":"pong"}');
    expect(await within(seen.closed, "close")).toMatchObject({ code: 1009 });
  });

  it("closes with 1006 when a post cannot reach the server", async () => {
    const { socket, seen } = await greeted();
    server.onPost((_post, response) => response.socket?.destroy());
    socket.send('{"type":"pong"}');
    expect(await within(seen.closed, "close")).toMatchObject({ code: 1006 });
    expect(seen.errors[0]).toMatch(/a post failed/);
  });

  it("closes with 1006 once more than the bound waits to be posted", async () => {
    const { socket, seen } = await open({ maxQueuedChars: 50 });
    socket.send(`"${"x".repeat(30)}"`);
    socket.send(`"${"x".repeat(30)}"`);
    expect(await within(seen.closed, "close")).toMatchObject({ code: 1006 });
    expect(seen.errors[0]).toMatch(/more than 50 characters waited/);
  });

  it("refuses binary data and sends while connecting, drops sends after close", async () => {
    server = await scriptedSseServer();
    const socket = new SseSocket(server.url);
    sockets.push(socket);
    expect(() => socket.send("{}")).toThrow(/still connecting/);
    const seen = watch(socket);
    const stream = await within(server.nextStream(), "stream");
    await within(seen.opened.promise, "open");
    expect(() => socket.send(new Uint8Array([1]))).toThrow(/JSON text only.*msgpack/);
    stream.event(sseHello());
    socket.close();
    socket.send('{"late":true}');
    await within(seen.closed, "close");
    expect(server.posts).toEqual([]);
  });
});

describe("SSE socket: credentials", () => {
  it("sends cookies cross-origin only when asked to", async () => {
    server = await scriptedSseServer();
    const seenCredentials: unknown[] = [];
    const spy: typeof fetch = (input, init) => {
      seenCredentials.push(init?.credentials);
      return fetch(input, init);
    };
    for (const withCredentials of [false, true]) {
      const stream = server.nextStream();
      const socket = new SseSocket(server.url, { fetch: spy, withCredentials });
      sockets.push(socket);
      const seen = watch(socket);
      (await within(stream, "stream")).event(sseHello());
      await within(seen.received(1), "hello");
      socket.send('{"type":"pong"}');
      await within(server.postsReceived(withCredentials ? 2 : 1), "a post");
    }
    expect(seenCredentials).toEqual([undefined, undefined, "include", "include"]);
  });
});

describe("SSE socket: fetch", () => {
  it("calls fetch as browsers require, with no receiver of its own, for the stream and the posts", async () => {
    server = await scriptedSseServer();
    const receivers: unknown[] = [];
    // A browser's fetch throws "Illegal invocation" for any receiver but the window.
    const windowFetch = function (this: unknown, ...[input, init]: Parameters<typeof fetch>) {
      receivers.push(this);
      if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
      return fetch(input, init);
    };
    const stream = server.nextStream();
    const socket = new SseSocket(server.url, { fetch: windowFetch as typeof fetch });
    sockets.push(socket);
    const seen = watch(socket);
    (await within(stream, "stream")).event(sseHello());
    await within(seen.received(1), "hello");
    socket.send('{"type":"pong"}');
    await within(server.postsReceived(1), "a post");
    expect(seen.errors).toEqual([]);
    expect(receivers).toHaveLength(2);
  });
});

describe("SSE helpers", () => {
  it("derives the SSE endpoint beside the WebSocket one", () => {
    expect(deriveSseUrl("ws://a.test/ws")).toBe("http://a.test/sse");
    expect(deriveSseUrl("wss://a.test:8443/api/ws?tenant=x")).toBe(
      "https://a.test:8443/api/sse?tenant=x",
    );
    expect(deriveSseUrl("ws://a.test")).toBe("http://a.test/sse");
    expect(deriveSseUrl("https://a.test/live/ws")).toBe("https://a.test/live/sse");
  });

  it("derives the send URL beside the stream's path, without the handshake parameters", () => {
    expect(sendUrl("https://a.test/api/sse?client_id=x&token=t", "n.1", "k/+")).toBe(
      "https://a.test/api/sse/send?connection_id=n.1&key=k%2F%2B",
    );
    expect(sendUrl("http://a.test/sse/", "1", "k")).toBe(
      "http://a.test/sse/send?connection_id=1&key=k",
    );
  });

  it("counts UTF-8 bytes like an encoder", () => {
    for (const text of ["", "ascii", "é", "€uro", "😀 pair", "\ud800 lone", "mixed é € 😀"]) {
      expect(utf8Length(text)).toBe(new TextEncoder().encode(text).byteLength);
    }
  });
});
