import type { WebSocketLike } from "./socket.js";

/** The wires a client can connect over (PROTOCOL.md, "Connecting: endpoint and handshake"). */
export type TransportName = "websocket" | "sse";

/**
 * How one connection attempt reaches the server. Every transport hands back the same
 * `WebSocketLike`, so the connection, its deadlines and parsing are written once
 * (transport/connection.ts) whatever the wire.
 */
export interface Transport {
  /** The wire, as `stats()` and logs report it. */
  readonly name: TransportName;
  /** Starts one connection to `url` offering `protocols` (the subprotocols, preferred first). */
  open(url: string, protocols: readonly string[]): WebSocketLike;
}
