import type { WebSocketConstructor } from "./socket.js";
import type { Transport } from "./transport.js";

/** The WebSocket transport: each attempt is one `new WebSocket(url, protocols)`. */
export function webSocketTransport(WebSocket: WebSocketConstructor): Transport {
  return { name: "websocket", open: (url, protocols) => new WebSocket(url, [...protocols]) };
}

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
