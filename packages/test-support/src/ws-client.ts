import { WebSocket } from "ws";
import { createMessageQueue, type Message } from "./message-queue.js";
import type { TestClient } from "./test-client.js";
import { within } from "./within.js";

export type { Message } from "./message-queue.js";

/**
 * The WebSocket test client: a raw `ws` socket with a queue of parsed messages. `ws` is
 * there for tests of what only a WebSocket has (ping frames, extensions, close frames).
 */
export interface WsTestClient extends TestClient {
  readonly ws: WebSocket;
}

/**
 * How a test client reads and writes frames: JSON text by default; a test of another wire
 * (the MessagePack subprotocol) brings its own.
 */
export interface ClientCodec {
  /** Subprotocols offered, in order of preference. */
  readonly protocols?: readonly string[];
  /** Turns a received frame into a message. */
  decode(data: Buffer, isBinary: boolean): Message;
  /** Turns a message that is not already a string into a frame. */
  encode(message: unknown): string | Uint8Array;
}

const jsonCodec: ClientCodec = {
  decode: (data) => JSON.parse(data.toString()) as Message,
  encode: (message) => JSON.stringify(message),
};

export function openClient(
  url: string,
  options: ConstructorParameters<typeof WebSocket>[2] = {},
  codec: ClientCodec = jsonCodec,
): WsTestClient {
  const ws = new WebSocket(url, codec.protocols ? [...codec.protocols] : [], options);
  const queue = createMessageQueue();
  ws.on("error", () => {});
  ws.on("message", (data: Buffer, isBinary: boolean) => queue.push(codec.decode(data, isBinary)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  return {
    ws,
    received: queue.received,
    next: queue.next,
    send(message) {
      ws.send(typeof message === "string" ? message : codec.encode(message));
    },
    closed,
    isOpen: () => ws.readyState === WebSocket.OPEN,
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close(1000);
      await within(closed, "client close");
    },
    terminate: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
}

/** A `next()` predicate: messages of `type` for which `extra` holds. */
export const ofType =
  (type: string, extra: (m: Message) => boolean = () => true) =>
  (message: Message): boolean =>
    message.type === type && extra(message);

/** The server's WebSocket URL with a handshake query. */
export function wsUrl(
  server: { readonly port: number },
  query = "client_id=c1&version=1&role=test",
): string {
  return `ws://127.0.0.1:${server.port}/ws?${query}`;
}

/** Opens a client and waits for its hello. */
export async function connect(
  server: { readonly port: number },
  clientId = "c1",
  extraQuery = "",
  options: ConstructorParameters<typeof WebSocket>[2] = {},
  codec?: ClientCodec,
): Promise<WsTestClient & { hello: Message }> {
  const client = openClient(
    wsUrl(server, `client_id=${clientId}&version=1&role=test${extraQuery}`),
    options,
    codec,
  );
  const hello = await client.next(ofType("hello"), "hello");
  return Object.assign(client, { hello });
}

/**
 * The HTTP status a WebSocket upgrade request to `url` is answered with: the refusal's
 * (403, 429, 503...), or 101 when the server upgrades it (the socket is dropped at once).
 */
export function upgradeStatus(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<number> {
  return within(
    new Promise<number>((resolve) => {
      const ws = new WebSocket(url, "lifeline.v1", { headers });
      ws.on("unexpected-response", (_request, response) => {
        resolve(response.statusCode ?? 0);
        ws.terminate();
      });
      ws.on("upgrade", () => resolve(101));
      ws.on("open", () => ws.terminate());
      ws.on("error", () => {});
    }),
    `an answer to the upgrade request to ${url}`,
    timeoutMs,
  );
}
