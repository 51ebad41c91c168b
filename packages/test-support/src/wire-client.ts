import { request as httpRequest } from "node:http";
import { WebSocket } from "ws";
import type { Message } from "./message-queue.js";
import { PACK_PROTOCOLS, packCodec } from "./msgpack-codec.js";
import { connectSse, httpUrl, openSse, type SseSession } from "./sse-client.js";
import type { ClientEnd, TestClient } from "./test-client.js";
import { within } from "./within.js";
import { connect, openClient, wsUrl } from "./ws-client.js";

/**
 * The wires a raw test client speaks (PROTOCOL.md, "Transport and framing"): WebSocket with
 * JSON text frames, WebSocket with MessagePack binary frames, and the HTTP fallback.
 */
export const TEST_WIRES = ["websocket", "msgpack", "sse"] as const;
export type TestWire = (typeof TEST_WIRES)[number];

/** The environment variable the test projects of the wire matrix set. */
export const TEST_WIRE_ENV = "LIFELINE_TEST_WIRE";

/**
 * The wire this test run speaks: `LIFELINE_TEST_WIRE`, `websocket` when unset. Anything
 * else throws, so a typo in a project's settings cannot quietly test the default wire.
 */
export function testWire(env: Record<string, string | undefined> = process.env): TestWire {
  const value = env[TEST_WIRE_ENV];
  if (value === undefined || value === "") return "websocket";
  if ((TEST_WIRES as readonly string[]).includes(value)) return value as TestWire;
  throw new Error(`${TEST_WIRE_ENV}=${value}: expected one of ${TEST_WIRES.join(", ")}`);
}

/** What a wire-neutral connect may carry. */
export interface WireConnectOptions {
  /** The handshake's headers (Origin, cookies). */
  readonly headers?: Record<string, string>;
  /**
   * Answers the server's pings: pong frames over WebSocket (`ws`'s own), a `pong` post for
   * each app `ping` over SSE. False plays a silent client.
   * @default true
   */
  readonly autoPong?: boolean;
}

/**
 * Opens a client of `server` over `wire` as `clientId` and waits for its hello. The
 * handshake query is the same on every wire (`client_id`, `version`, `role` and
 * `extraQuery`); the SSE stream is the sibling `/sse` of `/ws`.
 */
export async function connectOver(
  wire: TestWire,
  server: { readonly port: number },
  clientId = "c1",
  extraQuery = "",
  options: WireConnectOptions = {},
): Promise<TestClient & { hello: Message }> {
  const headers = options.headers === undefined ? {} : { headers: options.headers };
  const autoPong = options.autoPong ?? true;
  switch (wire) {
    case "websocket":
      return connect(server, clientId, extraQuery, { ...headers, autoPong });
    case "msgpack":
      return connect(server, clientId, extraQuery, { ...headers, autoPong }, packCodec());
    case "sse":
      return sseTestClient(await connectSse(server, clientId, extraQuery, headers), { autoPong });
  }
}

/** A handshake that was let through: what a refusal by close code is read from. */
export interface OpenedClient {
  readonly received: Message[];
  readonly closed: Promise<ClientEnd>;
  close(): Promise<void>;
}

/**
 * Starts a handshake over `wire` with `query` (`client_id=...&version=...`) without
 * waiting for a hello: for refusals the WebSocket endpoint answers with a close code after
 * the upgrade, which the SSE endpoint answers with a close event on an opened stream
 * (PROTOCOL.md, "HTTP fallback (SSE)"). Rejects over SSE when the stream is refused with
 * an HTTP status.
 */
export async function openOver(
  wire: TestWire,
  server: { readonly port: number },
  query: string,
  options: { readonly headers?: Record<string, string> } = {},
): Promise<OpenedClient> {
  const headers = options.headers ?? {};
  if (wire === "sse") return openSse(httpUrl(server, `/sse?${query}`), headers);
  return openClient(
    wsUrl(server, query),
    { headers },
    wire === "msgpack" ? packCodec() : undefined,
  );
}

/**
 * How a handshake over `wire` ends before any message: `"open"` when it is let through
 * (the connection is then dropped at once), `"http <status>"` when it is refused with an
 * HTTP status (403, 429, 503... on both wires), `"dropped"` when the server drops the
 * connection without an answer.
 */
export function handshakeOutcome(
  wire: TestWire,
  server: { readonly port: number },
  query: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const outcome = new Promise<string>((resolve) => {
    if (wire === "sse") {
      const request = httpRequest(httpUrl(server, `/sse?${query}`), {
        headers: { Accept: "text/event-stream", ...headers },
      });
      request.on("response", (response) => {
        resolve(response.statusCode === 200 ? "open" : `http ${response.statusCode}`);
        request.destroy();
      });
      request.on("error", () => resolve("dropped"));
      request.end();
      return;
    }
    const protocols = wire === "msgpack" ? [...PACK_PROTOCOLS] : ["lifeline.v1"];
    const ws = new WebSocket(wsUrl(server, query), protocols, { headers });
    ws.on("open", () => {
      resolve("open");
      ws.terminate();
    });
    ws.on("unexpected-response", (_request, response) => {
      resolve(`http ${response.statusCode}`);
      ws.terminate();
    });
    ws.on("error", () => resolve("dropped"));
  });
  return within(outcome, `the outcome of a ${wire} handshake`);
}

/**
 * A `TestClient` over an SSE session, behaving as the WebSocket one does: sends are posted
 * one at a time so they arrive in order, the app-level `ping` is answered with a `pong`
 * (what `ws` does for ping frames), and a send after the stream ended is dropped. A post
 * refused while the stream is open fails the test run (an unhandled rejection naming the
 * answer): a test must not lose a message silently.
 */
export function sseTestClient(
  session: SseSession,
  options: { readonly autoPong?: boolean } = {},
): TestClient & { hello: Message } {
  let open = true;
  session.closed.then(() => {
    open = false;
  });
  let posting = Promise.resolve();
  const send = (message: unknown): void => {
    posting = posting.then(async () => {
      if (!open) return;
      const answer = await session.post(message).catch((error: Error) => ({
        status: 0,
        body: error.message,
      }));
      if (answer.status === 204 || (await endsSoon(session))) return;
      // Not awaited on purpose: vitest reports the rejection and fails the run.
      Promise.reject(
        new Error(
          `SSE post of ${String(describe(message))} answered ${answer.status}: ${answer.body}`,
        ),
      );
    });
  };
  if (options.autoPong ?? true) {
    session.onMessage((message) => {
      if (message.type === "ping") send({ type: "pong" });
    });
  }
  return {
    hello: session.hello,
    received: session.received,
    next: session.next,
    send,
    closed: session.closed,
    isOpen: () => open,
    close: () => session.close(),
    terminate: () => {
      session.close().catch(() => {});
    },
    pause: () => session.pause(),
    resume: () => session.resume(),
  };
}

/**
 * True when the stream ends within a second: a post refused because the server just closed
 * the connection (404) can be answered before the close event is read from the stream.
 */
async function endsSoon(session: SseSession): Promise<boolean> {
  const ended = await Promise.race([
    session.closed.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref()),
  ]);
  return ended;
}

function describe(message: unknown): string {
  if (typeof message === "string") return JSON.stringify(message.slice(0, 60));
  const type = (message as { type?: unknown } | null)?.type;
  return typeof type === "string" ? `a ${type}` : "a message";
}
