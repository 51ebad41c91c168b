import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connectSse, httpCall, httpUrl, openSse, type SseSession } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { AuthError, type ServerOptions } from "../src/index.js";
import {
  captureLogs,
  connectWebSocket,
  createDisposer,
  createFakeClock,
  ofType,
  startServer,
  within,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

/** Client publishes are refused unless allowed (PROTOCOL.md, "Who may publish and subscribe"). */
const allowAll = (): boolean => true;

async function server(options: ServerOptions = {}) {
  const s = await startServer(options);
  disposer.add(() => s.close({ drainTimeoutMs: 200, batchIntervalMs: 0 }));
  return s;
}

async function sse(
  s: { readonly port: number },
  clientId: string,
  extraQuery = "",
  options: { path?: string; headers?: Record<string, string> } = {},
): Promise<SseSession> {
  const client = await connectSse(s, clientId, extraQuery, options);
  disposer.add(() => client.close());
  return client;
}

/** Listens on 127.0.0.1:0; the server and its connections are closed after the test. */
async function listenClosedAfterEach(app: HttpServer): Promise<number> {
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  disposer.add(
    () =>
      new Promise<void>((resolve) => {
        app.closeAllConnections();
        app.close(() => resolve());
      }),
  );
  return (app.address() as AddressInfo).port;
}

describe("HTTP fallback: the stream", () => {
  it("answers with an event stream whose first event is hello, with its sse_key", async () => {
    const s = await server();
    const client = await sse(s, "alpha");
    expect(client.status).toBe(200);
    expect(client.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(client.headers["cache-control"]).toBe("no-cache, no-transform");
    expect(client.headers["x-accel-buffering"]).toBe("no");
    expect(client.comments[0]).toBe("ok");
    expect(client.received[0]).toBe(client.hello);
    expect(client.hello).toMatchObject({ type: "hello", client_id: "alpha", accepted_version: 1 });
    expect(client.hello.features).toContain("sse");
    expect(client.key).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    const other = await sse(s, "beta");
    expect(other.key).not.toBe(client.key);
  });

  it("sends no sse_key over a WebSocket, and announces sse there too", async () => {
    const s = await server();
    const ws = await connectWebSocket(s, "ws-1");
    disposer.add(() => ws.close());
    expect(ws.hello.sse_key).toBeUndefined();
    expect(ws.hello.features).toContain("sse");
  });

  it("round-trips subscribe, publish and request over SSE", async () => {
    const s = await server({ authorize: allowAll });
    s.method("add", (params) => {
      const { a, b } = params as { a: number; b: number };
      return a + b;
    });
    const client = await sse(s, "rt");
    await client.send({ type: "subscribe", id: "s1", topic: "news" });
    const subscribed = await client.next(ofType("subscribed"));
    expect(subscribed).toMatchObject({ id: "s1", topic: "news", offset: 0, recovered: true });
    await s.publish("news", { n: 1 });
    expect(await client.next(ofType("message"))).toMatchObject({ offset: 1, data: { n: 1 } });
    await client.send([
      { type: "publish", id: "p1", topic: "news", data: { n: 2 } },
      { type: "request", id: "r1", method: "add", params: { a: 2, b: 3 } },
    ]);
    expect(await client.next(ofType("response", (m) => m.id === "p1"))).toEqual({
      type: "response",
      id: "p1",
      ok: true,
      result: { topic: "news", offset: 2, epoch: subscribed.epoch },
    });
    expect(await client.next(ofType("message"))).toMatchObject({ offset: 2, data: { n: 2 } });
    expect(await client.next(ofType("response", (m) => m.id === "r1"))).toEqual({
      type: "response",
      id: "r1",
      ok: true,
      result: 5,
    });
  });

  it("delivers between WebSocket and SSE clients of one topic", async () => {
    const s = await server({ authorize: allowAll });
    const ws = await connectWebSocket(s, "ws-peer");
    disposer.add(() => ws.close());
    const client = await sse(s, "sse-peer");
    ws.send({ type: "subscribe", id: "s", topic: "room" });
    await client.send({ type: "subscribe", id: "s", topic: "room" });
    await ws.next(ofType("subscribed"));
    await client.next(ofType("subscribed"));
    await client.send({ type: "publish", id: "p", topic: "room", data: "from sse" });
    expect(await ws.next(ofType("message"))).toMatchObject({ data: "from sse" });
    ws.send({ type: "publish", id: "q", topic: "room", data: "from ws" });
    expect(await client.next(ofType("message", (m) => m.data === "from ws"))).toMatchObject({
      topic: "room",
    });
  });

  it("resumes a subscription by since, replaying exactly the missed offsets", async () => {
    const s = await server();
    for (let i = 1; i <= 5; i += 1) await s.publish("log", i);
    const head = await s.broker.head("log");
    const client = await sse(s, "resumer");
    await client.send({
      type: "subscribe",
      id: "s1",
      topic: "log",
      since: { offset: 2, epoch: head.epoch },
    });
    expect(await client.next(ofType("subscribed"))).toMatchObject({
      recovered: true,
      replayed: 3,
    });
    const replayed = client.received.filter((m) => m.type === "message").map((m) => m.offset);
    expect(replayed).toEqual([3, 4, 5]);
  });

  it("acknowledges a retried publish again without appending it twice", async () => {
    const s = await server({ authorize: allowAll });
    const client = await sse(s, "retrier");
    const publish = { type: "publish", id: "p1", topic: "t", data: 1 };
    await client.send(publish);
    const first = await client.next(ofType("response"));
    // The retry of a post whose answer was lost: in another body, on a new stream.
    await client.close();
    const again = await sse(s, "retrier");
    await again.send([publish]);
    expect(await again.next(ofType("response"))).toEqual(first);
    expect((await s.broker.head("t")).offset).toBe(1);
  });

  it("closes the older stream with the 4409 close event when the client_id connects again", async () => {
    const s = await server();
    const older = await sse(s, "tab");
    const newer = await sse(s, "tab");
    expect(await within(older.closed, "the older stream's end")).toEqual({
      code: 4409,
      reason: "session replaced by a newer connection",
    });
    const stale = await older.post({ type: "ping" });
    expect(stale.status).toBe(404);
    await newer.send({ type: "ping" });
    expect(await newer.next(ofType("pong"))).toEqual({ type: "pong" });
    // A WebSocket takes an SSE session over the same way, and the other way round.
    const ws = await connectWebSocket(s, "tab");
    disposer.add(() => ws.close());
    expect((await within(newer.closed, "the SSE stream's end")).code).toBe(4409);
    await sse(s, "tab");
    expect((await within(ws.closed, "the WebSocket's close")).code).toBe(4409);
  });

  it("sends shutdown, then ends every stream with the 1012 close event, on close()", async () => {
    const s = await startServer();
    const client = await connectSse(s, "leaving");
    const closing = s.close({ drainTimeoutMs: 2000, batchIntervalMs: 0, spreadMs: 0 });
    expect(await client.next(ofType("shutdown"))).toMatchObject({ type: "shutdown" });
    expect(await within(client.closed, "the stream's end")).toEqual({
      code: 1012,
      reason: "server restarting",
    });
    await closing;
    expect(s.stats().closes["1012"]).toBe(1);
  });

  it("answers a handshake refused after the upgrade with the close event, and one refused before it with the HTTP status", async () => {
    const s = await server({
      allowedOrigins: ["https://app.example"],
      authenticate: (_request, handshake) => {
        if (handshake.token !== "good") throw new AuthError("bad token");
        return "ada";
      },
    });
    const url = (query: string) => httpUrl(s, `/sse?${query}`);
    const badVersion = await openSse(url("client_id=a&version=9&role=test&token=good"));
    expect((await badVersion.closed).code).toBe(4400);
    const badToken = await openSse(url("client_id=a&version=1&role=test&token=bad"));
    expect(await badToken.closed).toEqual({ code: 4401, reason: "bad token" });
    expect(badToken.received).toEqual([]);
    const foreign = await httpCall(url("client_id=a&version=1&role=test&token=good"), {
      headers: { Origin: "https://evil.example" },
    });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toEqual({ code: 403, reason: "origin not allowed" });
    expect(foreign.headers["access-control-allow-origin"]).toBeUndefined();
    expect(s.stats().handshakeFailures).toMatchObject({
      bad_version: 1,
      unauthenticated: 1,
      origin: 1,
    });
  });

  it("shares the per-address limit with the WebSocket endpoint (429)", async () => {
    const s = await server({ limits: { maxConnectionsPerIp: 2 } });
    await sse(s, "one");
    const ws = await connectWebSocket(s, "two");
    disposer.add(() => ws.close());
    const third = await httpCall(httpUrl(s, "/sse?client_id=three&version=1&role=test"));
    expect(third.status).toBe(429);
    expect(third.headers["retry-after"]).toBe("5");
    expect(JSON.parse(third.body)).toMatchObject({ code: 429 });
  });

  it("shares the handshake rate with the WebSocket endpoint: alternating wires does not double it", async () => {
    const s = await server({
      limits: { handshakeRate: { perAddressBurst: 2, perAddressPerSecond: 1 } },
    });
    await sse(s, "one");
    const ws = await connectWebSocket(s, "two");
    disposer.add(() => ws.close());
    const third = await httpCall(httpUrl(s, "/sse?client_id=three&version=1&role=test"));
    expect(third.status).toBe(429);
    expect(third.headers["retry-after"]).toBe("1");
    expect(JSON.parse(third.body)).toEqual({
      code: 429,
      reason: "too many handshakes from this address",
    });
    expect(s.stats().limitRefusals).toEqual({ "handshakeRate.perAddress": 1 });
  });

  it("echoes an allowed Origin for CORS and answers a preflight", async () => {
    const s = await server({ allowedOrigins: ["https://app.example"] });
    const origin = { Origin: "https://app.example" };
    const client = await sse(s, "cors", "", { headers: origin });
    expect(client.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(client.headers["access-control-allow-credentials"]).toBe("true");
    const posted = await client.post({ type: "ping" }, origin);
    expect(posted.status).toBe(204);
    expect(posted.headers["access-control-allow-origin"]).toBe("https://app.example");
    const preflight = await httpCall(httpUrl(s, "/sse/send"), {
      method: "OPTIONS",
      headers: { ...origin, "Access-Control-Request-Method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-methods"]).toBe("GET, POST");
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://app.example");
  });

  it("is off with sse: false: no routes, no feature", async () => {
    const s = await server({ sse: false });
    const answer = await httpCall(httpUrl(s, "/sse?client_id=a&version=1&role=test"));
    expect(answer.status).toBe(404);
    const ws = await connectWebSocket(s, "ws");
    disposer.add(() => ws.close());
    expect(ws.hello.features).not.toContain("sse");
  });

  it("serves a configured path", async () => {
    const s = await server({ path: "/api/ws", sse: { path: "/fallback" } });
    const client = await sse(s, "p", "", { path: "/fallback" });
    await client.send({ type: "ping" });
    expect(await client.next(ofType("pong"))).toEqual({ type: "pong" });
  });

  it("counts and logs connections by transport", async () => {
    const logs = captureLogs();
    const s = await server({ logger: logs.logger, status: { enabled: true } });
    const client = await sse(s, "counted");
    const ws = await connectWebSocket(s, "counted-ws");
    disposer.add(() => ws.close());
    const wires = s.stats().connections.byWire.map((w) => `${w.transport}/${w.codec}:${w.active}`);
    expect(wires.sort()).toEqual(["sse/json:1", "websocket/json:1"]);
    const status = JSON.parse((await httpCall(httpUrl(s, "/api/websocket/status"))).body) as {
      connections: { client_id: string; transport: string }[];
    };
    const transports = status.connections.map((c) => `${c.client_id}:${c.transport}`);
    expect(transports.sort()).toEqual(["counted-ws:websocket", "counted:sse"]);
    const accepted = await logs.waitFor(
      (l) => l.msg === "connection accepted" && l.client_id === "counted",
    );
    expect(accepted).toMatchObject({ transport: "sse" });
    const metrics = await httpCall(httpUrl(s, "/metrics"));
    expect(metrics.body).toContain(
      'lifeline_transport_connections{transport="sse",codec="json"} 1',
    );
    expect(metrics.body).toContain(
      'lifeline_transport_connections_total{transport="sse",codec="json"} 1',
    );
    await client.close();
    const closed = await logs.waitFor(
      (l) => l.msg === "connection closed unexpectedly" && l.client_id === "counted",
    );
    expect(closed).toMatchObject({ transport: "sse", code: 1006 });
  });
});

describe("HTTP fallback: credentials and shutdown", () => {
  it("warns before the credentials expire, refreshes by post, and closes 4401 once they expire", async () => {
    const clock = createFakeClock(Date.now());
    const s = await server({
      clock,
      heartbeat: { intervalMs: 0, timeoutMs: 0 },
      authenticate: (_request, handshake) => ({ id: "ada", exp: Number(handshake.token) }),
      credentials: {
        refresh: (token) => ({ id: "ada", exp: Number(token) }),
        expiresAt: (principal) => (principal as { exp: number }).exp,
        noticeMs: 10_000,
      },
    });
    const client = await sse(s, "expiring", `&token=${clock.now() + 60_000}`);
    clock.advance(50_000);
    await client.next(ofType("token_expiring"), "token_expiring");
    await client.send({ type: "refresh", id: "r1", token: String(clock.now() + 30_000) });
    expect(await client.next(ofType("response"))).toMatchObject({ id: "r1", ok: true });
    clock.advance(30_000);
    expect(await within(client.closed, "the expired stream's end")).toMatchObject({
      code: 4401,
    });
  });

  it("refuses a stream on the application's server once close() began with 503", async () => {
    const app = createHttpServer((request, response) => {
      if (lifeline.handleHttp(request, response)) return;
      response.writeHead(404);
      response.end();
    });
    const lifeline = await startServer({ server: app });
    const port = await listenClosedAfterEach(app);
    const held = await connectSse({ port }, "held");
    const closing = lifeline.close({ drainTimeoutMs: 2000, batchIntervalMs: 0, spreadMs: 0 });
    const late = await httpCall(`http://127.0.0.1:${port}/sse?client_id=late&version=1&role=test`);
    expect(late.status).toBe(503);
    expect(JSON.parse(late.body)).toEqual({ code: 503, reason: "server is shutting down" });
    expect((await within(held.closed, "the held stream's end")).code).toBe(1012);
    await closing;
  });
});

describe("HTTP fallback: liveness (injected clock)", () => {
  it("pings on the stream, keeps a client that posts, and drops one that stays silent", async () => {
    const clock = createFakeClock();
    const s = await server({ clock, heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    const lively = await sse(s, "lively");
    const silent = await sse(s, "silent");
    clock.advance(1000);
    expect(await silent.next(ofType("ping"))).toEqual({ type: "ping" });
    expect(await lively.next(ofType("ping"))).toEqual({ type: "ping" });
    await lively.send({ type: "pong" });
    // The deadline (interval + timeout) falls between two sweeps (1/25 of the interval).
    clock.advance(540);
    expect((await within(silent.closed, "the silent stream's end")).code).toBe(1006);
    expect(s.connections().map((c) => c.clientId)).toEqual(["lively"]);
    await lively.send({ type: "ping" });
    expect(await lively.next(ofType("pong"))).toEqual({ type: "pong" });
  });
});

describe("HTTP fallback: bad input", () => {
  it("answers a body that is not JSON, or not an object or array, with 400 and keeps the stream", async () => {
    const s = await server();
    const client = await sse(s, "garbage");
    for (const body of ["{", "ping", "42", '"text"', "null", ""]) {
      const answer = await client.post(body);
      expect(answer.status, body).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({ code: 400 });
    }
    await client.send({ type: "ping" });
    expect(await client.next(ofType("pong"))).toEqual({ type: "pong" });
  });

  it("answers a body past the payload limit, or past 100 messages, with 413", async () => {
    const s = await server({ limits: { maxPayload: 1024 } });
    const client = await sse(s, "huge");
    const huge = await client.post({ type: "ping", pad: "x".repeat(2048) });
    expect(huge.status).toBe(413);
    const chunked = await client.post(`[${'{"type":"ping"},'.repeat(80)}{"type":"ping"}]`, {
      "Transfer-Encoding": "chunked",
    });
    expect(chunked.status).toBe(413);
    const many = await client.post(Array.from({ length: 101 }, () => ({ type: "pong" })));
    expect(many.status).toBe(413);
    expect(JSON.parse(many.body)).toMatchObject({ code: 413 });
    await client.send(Array.from({ length: 3 }, () => ({ type: "ping" })));
    await client.next(ofType("pong"));
  });

  it("answers 404 for an unknown id, a wrong key and a closed stream, the same each time", async () => {
    const s = await server();
    const client = await sse(s, "target");
    const send = (id: string, key: string) =>
      httpCall(httpUrl(s, `/sse/send?connection_id=${id}&key=${key}`), {
        method: "POST",
        body: '{"type":"ping"}',
      });
    const unknown = await send("no-such-id", client.key);
    const wrongKey = await send(client.connectionId, `${client.key.slice(0, -2)}AA`);
    const noKey = await httpCall(httpUrl(s, `/sse/send?connection_id=${client.connectionId}`), {
      method: "POST",
      body: '{"type":"ping"}',
    });
    for (const answer of [unknown, wrongKey, noKey]) {
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body)).toEqual({ code: 404, reason: "unknown connection" });
    }
    const ws = await connectWebSocket(s, "ws-target");
    disposer.add(() => ws.close());
    expect((await send(String(ws.hello.connection_id), client.key)).status).toBe(404);
    const gone = new Promise((resolve) => s.on("disconnect", resolve));
    await client.close();
    await within(gone, "the server to see the stream close");
    expect((await client.post({ type: "ping" })).status).toBe(404);
  });

  it("refuses a post to another principal's connection with 404", async () => {
    const s = await server({
      authenticate: (_request, handshake) => handshake.token ?? "anonymous",
    });
    const ada = await sse(s, "ada-tab", "&token=ada");
    const bob = await sse(s, "bob-tab", "&token=bob");
    const forged = await httpCall(
      httpUrl(s, `/sse/send?connection_id=${ada.connectionId}&key=${bob.key}`),
      { method: "POST", body: JSON.stringify({ type: "subscribe", id: "x", topic: "t" }) },
    );
    expect(forged.status).toBe(404);
    await ada.send({ type: "ping" });
    expect(await ada.next(ofType("pong"))).toEqual({ type: "pong" });
    expect(ada.received.some((m) => m.type === "subscribed")).toBe(false);
  });

  it("answers other methods with 405 and Allow", async () => {
    const s = await server();
    const put = await httpCall(httpUrl(s, "/sse/send"), { method: "PUT", body: "{}" });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe("POST, OPTIONS");
    const postStream = await httpCall(httpUrl(s, "/sse"), { method: "POST", body: "{}" });
    expect(postStream.status).toBe(405);
    expect(postStream.headers.allow).toBe("GET, OPTIONS");
    const getSend = await httpCall(httpUrl(s, "/sse/send"));
    expect(getSend.status).toBe(405);
  });

  it("refuses a post from a disallowed Origin with 403, the stream kept", async () => {
    const s = await server({ allowedOrigins: ["https://app.example"] });
    const client = await sse(s, "posted");
    const answer = await client.post({ type: "ping" }, { Origin: "https://evil.example" });
    expect(answer.status).toBe(403);
    await client.send({ type: "ping" });
    expect(await client.next(ofType("pong"))).toEqual({ type: "pong" });
  });

  it("drops a post whose Origin check throws, logs it and keeps serving (the stream test is in robustness)", async () => {
    const logs = captureLogs();
    let broken = false;
    const s = await server({
      logger: logs.logger,
      allowedOrigins: (origin) => {
        if (broken) throw new Error("origin service down");
        return origin === "https://app.example";
      },
    });
    const client = await sse(s, "posted", "", { headers: { Origin: "https://app.example" } });
    broken = true;
    await expect(
      client.post({ type: "ping" }, { Origin: "https://app.example" }),
    ).rejects.toThrow();
    expect((await logs.waitFor((l) => l.msg === "sse post failed")).level).toBe(50);
    broken = false;
    await client.send({ type: "ping" });
    expect(await client.next(ofType("pong"))).toEqual({ type: "pong" });
  });

  it("answers a message invalid by the protocol with an error event, keeping the stream and other clients", async () => {
    const s = await server();
    const client = await sse(s, "invalid");
    const bystander = await sse(s, "bystander");
    const ws = await connectWebSocket(s, "ws-bystander");
    disposer.add(() => ws.close());
    await client.send([{ type: "nope" }, { type: "subscribe", id: 5 }, "text", { type: "ping" }]);
    expect(await client.next(ofType("error"))).toMatchObject({ code: "unknown_type" });
    expect(await client.next(ofType("error"))).toMatchObject({ code: "invalid_message" });
    expect(await client.next(ofType("error"))).toMatchObject({ code: "invalid_message" });
    expect(await client.next(ofType("pong"))).toEqual({ type: "pong" });
    await bystander.send({ type: "ping" });
    expect(await bystander.next(ofType("pong"))).toEqual({ type: "pong" });
    ws.send({ type: "ping" });
    expect(await ws.next(ofType("pong"))).toEqual({ type: "pong" });
    expect(s.connections()).toHaveLength(3);
  });

  it("applies the connection's rate limit to each message of a post", async () => {
    const s = await server({ limits: { rate: { perSecond: 1, burst: 2 } } });
    const client = await sse(s, "flood");
    await client.send(Array.from({ length: 4 }, () => ({ type: "ping" })));
    expect(await client.next(ofType("error"))).toMatchObject({ code: "rate_limited" });
    expect(client.received.filter((m) => m.type === "pong")).toHaveLength(2);
  });

  it("closes a stream whose reader falls behind with 1013, like a WebSocket", async () => {
    const s = await server({ limits: { highWaterMark: 64 * 1024 } });
    const slow = await sse(s, "slow");
    await slow.send({ type: "subscribe", id: "s", topic: "firehose" });
    await slow.next(ofType("subscribed"));
    slow.pause();
    const disconnected = new Promise<number>((resolve) =>
      s.on("disconnect", (_c, close) => resolve(close.code)),
    );
    let closed = false;
    void disconnected.then(() => {
      closed = true;
    });
    const payload = "x".repeat(32 * 1024);
    for (let i = 0; i < 2000 && !closed; i += 1) {
      await s.publish("firehose", payload);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await within(disconnected, "the slow consumer's close")).toBe(1013);
    expect(s.stats().slowConsumers).toBe(1);
  });
});

describe("HTTP fallback on the application's HTTP server", () => {
  it("is served through handleHttp, under the prefix the application mounts it at", async () => {
    const lifeline = await server({ noServer: true });
    const app = createHttpServer((request, response) => {
      // What connect/Express do for app.use("/realtime", handler): strip the prefix.
      if (request.url?.startsWith("/realtime/")) {
        request.url = request.url.slice("/realtime".length);
        if (lifeline.handleHttp(request, response)) return;
      }
      response.writeHead(404);
      response.end("app 404");
    });
    app.on("upgrade", (request, socket, head) => {
      if (!lifeline.handleUpgrade(request, socket, head)) socket.destroy();
    });
    const port = await listenClosedAfterEach(app);
    const client = await connectSse({ port }, "mounted", "", { path: "/realtime/sse" });
    disposer.add(() => client.close());
    await client.send({ type: "ping" });
    expect(await client.next(ofType("pong"))).toEqual({ type: "pong" });
    const health = await httpCall(`http://127.0.0.1:${port}/realtime/health`);
    expect(health.status).toBe(200);
  });
});
