import { PROTOCOL_VERSION, type Role } from "@lifeline/protocol";

/**
 * An event handler property, checked bivariantly (as methods are) so that the DOM's
 * `(this: WebSocket, ev: MessageEvent) => any` and `ws`'s handler types both fit without a
 * cast: the client only ever assigns these, it never calls them.
 */
type Handler<E> = { bivarianceHack(event: E): void }["bivarianceHack"];

/**
 * The members of a WebSocket the client uses. The browser's `WebSocket`, Node 22's global,
 * the `ws` package and a test double all fit it.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed (the WHATWG constants). */
  readonly readyState: number;
  /** Called when the connection opens. */
  onopen: Handler<unknown> | null;
  /** Called with each message. */
  onmessage: Handler<{ readonly data: unknown }> | null;
  /** Called once, with the close code and reason. */
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null;
  /** Called on a transport error (a close follows). */
  onerror: Handler<unknown> | null;
  /** Sends one text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
}

/** A `WebSocket` class: the browser's, the `ws` package's, or any with the same constructor. */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

export const OPEN = 1;

/** The global `WebSocket` (browsers, Deno, Bun, Node 22+), if there is one. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

/** Finds a WebSocket implementation for an attempt; the Node entry falls back to `ws`. */
export type WebSocketResolver = () => WebSocketConstructor | Promise<WebSocketConstructor>;

export const browserResolver: WebSocketResolver = () => {
  const found = globalWebSocket();
  if (found) return found;
  throw new TypeError(
    "no global WebSocket: pass the `WebSocket` option, or import @lifeline/client under Node (it falls back to `ws`)",
  );
};

/**
 * `GET /ws?client_id=..&version=1&role=..&token=..` (PROTOCOL.md, "Connecting: endpoint and
 * handshake").
 */
export function buildSocketUrl(
  base: string,
  params: { clientId: string; role: Role; token?: string | undefined },
): string {
  const url = new URL(base);
  url.searchParams.set("client_id", params.clientId);
  url.searchParams.set("version", String(PROTOCOL_VERSION));
  url.searchParams.set("role", params.role);
  if (params.token !== undefined) url.searchParams.set("token", params.token);
  return url.toString();
}

/** The URL as it may appear in logs and stats: the token replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.searchParams.has("token")) parsed.searchParams.set("token", "[redacted]");
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Replaces every `token=<value>` in free text (error messages that quote the URL). */
export function redactTokens(text: string): string {
  return text.replace(/([?&]token=)[^&\s'"]*/g, "$1[redacted]");
}
