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
  /**
   * Which type binary messages arrive as (`"arraybuffer"` is the one every implementation
   * shares); absent on implementations that receive text only.
   */
  binaryType?: string;
  /** The subprotocol the server agreed on (`""` for none); absent on minimal doubles. */
  readonly protocol?: string;
  /** Sends one frame: a string as a text frame, bytes as a binary frame. */
  send(data: string | Uint8Array): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
}

/** A `WebSocket` class: the browser's, the `ws` package's, or any with the same constructor. */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

export const OPEN = 1;
