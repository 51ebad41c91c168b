import type { Message } from "./message-queue.js";

/** How a connection ended, as its peer saw it: the close code and reason. */
export interface ClientEnd {
  readonly code: number;
  readonly reason: string;
}

/**
 * A raw protocol client with a queue of received messages, for tests that speak the
 * protocol by hand. The same interface over every wire (`wire-client.ts`): WebSocket with
 * JSON or MessagePack frames, and the HTTP fallback (an event stream plus posts).
 */
export interface TestClient {
  /** Every message received, in order of arrival. */
  readonly received: Message[];
  /**
   * Resolves with the oldest message not yet taken that matches `predicate`, already
   * received or still to come; rejects after `timeoutMs`.
   */
  next(
    predicate?: (message: Message) => boolean,
    label?: string,
    timeoutMs?: number,
  ): Promise<Message>;
  /**
   * Sends a message (a string goes as it is). Messages reach the server in the order they
   * were sent; once the connection is closed they are dropped, as a WebSocket drops them.
   */
  send(message: unknown): void;
  /** Resolves when the connection ends, with the code the client saw. */
  readonly closed: Promise<ClientEnd>;
  /** True until the connection ended. */
  isOpen(): boolean;
  /**
   * Closes the connection the way the wire's client does it (a WebSocket close frame with
   * 1000; an SSE client can only drop its stream), and waits for the end.
   */
  close(): Promise<void>;
  /** Drops the connection at once, as a crashed peer would. */
  terminate(): void;
  /** Stops reading from the network, as a slow reader would; `resume()` reads again. */
  pause(): void;
  resume(): void;
}
