import { CloseCode, SUBPROTOCOL } from "@lifeline/protocol";
import {
  createEventStreamParser,
  type EventStreamParser,
  type StreamEvent,
} from "./event-stream.js";
import { SsePosts } from "./sse-posts.js";
import { describeError, parseCloseEvent, readHello, refusalReason } from "./sse-wire.js";
import type { Transport } from "./transport.js";

/**
 * The HTTP fallback (PROTOCOL.md, "HTTP fallback (SSE)") behind the same `WebSocketLike`
 * shape as a WebSocket, so the connection code above it does not know which wire it
 * drives: a `fetch` stream of server-sent events for server -> client messages and `POST`s
 * for client -> server messages. `fetch` streaming works in browsers and Node 20+, so no
 * dependency is needed; `EventSource` is not used because it cannot report the HTTP status
 * of a refusal and reconnects on its own schedule.
 */

/** Limits of one SSE connection; every queue it keeps is bounded by them. */
export interface SseLimits {
  /**
   * The most characters one event may take on the stream (its `data:` lines and line
   * ends). A longer event closes the connection with 1009, as `ws` does past `maxPayload`.
   * @default 1048640 (the client's `maxMessageChars` default plus room for the framing)
   */
  readonly maxEventChars?: number;
  /**
   * The most UTF-8 bytes in one POST body; the server answers 413 past its `maxPayload`
   * (1 MiB by default). A single message larger than this is posted alone.
   * @default 1048576
   */
  readonly maxBodyBytes?: number;
  /**
   * The most messages in one POST body (the server refuses more than 100).
   * @default 100
   */
  readonly maxBatchMessages?: number;
  /**
   * The most characters waiting to be posted (a post is in flight, or the server's
   * `hello` has not arrived yet). Past it the connection closes with 1006 and the client
   * reconnects: the outbox, not this queue, holds what must not be lost.
   * @default 16777216
   */
  readonly maxQueuedChars?: number;
}

export interface SseSocketOptions extends SseLimits {
  /**
   * The `fetch` to use.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch;
  /**
   * Send cookies with the stream and the posts to another origin (`credentials:
   * "include"`, like `EventSource`'s `withCredentials`); the server must name its allowed
   * origins for the browser to accept the answers (PROTOCOL.md, "Cross-origin use").
   * Same-origin requests carry cookies either way.
   * @default false
   */
  readonly withCredentials?: boolean;
}

const defaultLimits = {
  maxEventChars: 1024 * 1024 + 64,
  maxBodyBytes: 1024 * 1024,
  maxBatchMessages: 100,
  maxQueuedChars: 16 * 1024 * 1024,
} as const;

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

type Listener<E> = ((event: E) => void) | null;

/** The SSE transport: each attempt is one event stream (`SseSocket`). */
export function sseTransport(options: SseSocketOptions = {}): Transport {
  return { name: "sse", open: (url) => new SseSocket(url, options) };
}

/**
 * One SSE connection with the members of a WebSocket the client uses: `GET <url>` as an
 * event stream (`url` carries the handshake parameters, like the WebSocket URL), and
 * `send` by post once the server's `hello` gave the post key.
 */
export class SseSocket {
  /** Always the JSON subprotocol: the SSE wire carries JSON text only. */
  readonly protocol = SUBPROTOCOL;
  /** Accepted for the WebSocket shape; no binary message ever arrives on this wire. */
  binaryType = "arraybuffer";
  /** Called when the 200 event stream starts. */
  onopen: Listener<{ readonly type: "open" }> = null;
  /** Called with each `data:` event. */
  onmessage: Listener<{ readonly type: "message"; readonly data: string }> = null;
  /** Called once: the close event's code, 1006 for a stream that just ended. */
  onclose: Listener<{
    readonly type: "close";
    readonly code: number;
    readonly reason: string;
    readonly wasClean: boolean;
  }> = null;
  /** Called when the wire fails (a refusal, a network error, a failed post); a close follows. */
  onerror: Listener<{ readonly type: "error"; readonly message: string }> = null;

  readonly #url: string;
  readonly #fetch: typeof fetch;
  readonly #credentials: { readonly credentials?: "include" };
  readonly #maxEventChars: number;
  readonly #stream = new AbortController();
  readonly #posts: SsePosts;
  #readyState = CONNECTING;
  /** The server's `hello` (with the post key) has gone up. */
  #greeted = false;

  constructor(url: string, options: SseSocketOptions = {}) {
    const limits = { ...defaultLimits, ...definedLimits(options) };
    this.#url = url;
    const fetchOf = options.fetch ?? globalThis.fetch;
    // Called as a plain function, never as a method of this socket or of an options
    // object: a browser's `fetch` refuses any receiver but the window ("Illegal invocation").
    this.#fetch = (input, init) => fetchOf.call(globalThis, input, init);
    this.#credentials = options.withCredentials ? { credentials: "include" } : {};
    this.#maxEventChars = limits.maxEventChars;
    this.#posts = new SsePosts({
      fetch: this.#fetch,
      credentials: this.#credentials,
      maxBodyBytes: limits.maxBodyBytes,
      maxBatchMessages: limits.maxBatchMessages,
      maxQueuedChars: limits.maxQueuedChars,
      onFailure: (failure) => this.#fail(failure.code, failure.message),
    });
    void this.#start();
  }

  /** 0 connecting, 1 open, 2 closing, 3 closed (the WHATWG constants). */
  get readyState(): number {
    return this.#readyState;
  }

  /** Characters waiting to be posted. */
  get bufferedAmount(): number {
    return this.#posts.bufferedAmount;
  }

  /** Queues one JSON text message; the messages of one tick go in one POST. */
  send(data: string | Uint8Array): void {
    if (this.#readyState === CONNECTING) {
      throw new Error("InvalidStateError: the SSE connection is still connecting");
    }
    if (this.#readyState !== OPEN) return;
    if (typeof data !== "string") {
      throw new TypeError(
        'the SSE transport carries JSON text only: binary messages need codec "msgpack" on the WebSocket transport',
      );
    }
    this.#posts.push(data);
  }

  /** Ends the stream; messages not yet posted are dropped, as after a WebSocket close. */
  close(code?: number, reason?: string): void {
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    this.#readyState = CLOSING;
    this.#posts.stop();
    this.#stream.abort();
    queueMicrotask(() => this.#finish(code ?? 1005, reason ?? "", true));
  }

  /** The one way to CLOSED: the close event fires once. */
  #finish(code: number, reason: string, wasClean: boolean): void {
    if (this.#readyState === CLOSED) return;
    this.#readyState = CLOSED;
    this.#posts.stop();
    this.#stream.abort();
    this.onclose?.({ type: "close", code, reason, wasClean });
  }

  /** A failure of the wire itself: an error event, then the close event. */
  #fail(code: number, message: string): void {
    // CLOSING: the application closed it; the abort that follows is no failure.
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    this.onerror?.({ type: "error", message });
    this.#finish(code, code === CloseCode.Abnormal ? "" : message, false);
  }

  async #start(): Promise<void> {
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        headers: { accept: "text/event-stream" },
        signal: this.#stream.signal,
        ...this.#credentials,
      });
    } catch (error) {
      const message = `the event stream could not be opened: ${describeError(error)}`;
      this.#fail(CloseCode.Abnormal, message);
      return;
    }
    if (this.#readyState !== CONNECTING) {
      void response.body?.cancel().catch(() => {});
      return;
    }
    const type = response.headers.get("content-type") ?? "";
    const body = response.body;
    if (response.status !== 200 || body === null || !type.startsWith("text/event-stream")) {
      // Worded like `ws`'s refused upgrade, so a refusal reads the same on both wires.
      const detail = await refusalReason(response);
      const what =
        response.status === 200 ? `content type ${JSON.stringify(type)}` : response.status;
      this.#fail(CloseCode.Abnormal, `Unexpected server response: ${what}${detail}`);
      return;
    }
    this.#readyState = OPEN;
    this.onopen?.({ type: "open" });
    if (this.#readyState === OPEN) await this.#read(body);
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = createEventStreamParser({
      maxEventChars: this.#maxEventChars,
      onEvent: (event) => this.#onEvent(event),
    });
    const reader = body.getReader();
    try {
      await this.#pipe(reader, parser);
    } catch (error) {
      this.#fail(CloseCode.Abnormal, `the event stream broke: ${describeError(error)}`);
    } finally {
      reader.releaseLock();
    }
  }

  async #pipe(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    parser: EventStreamParser,
  ): Promise<void> {
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (this.#readyState !== OPEN) return;
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      if (!parser.push(text)) {
        const message = `an event was longer than ${this.#maxEventChars} characters`;
        this.#fail(CloseCode.MessageTooBig, message);
        return;
      }
      if (done) break;
    }
    // The stream ended without a close event: what a WebSocket reports as 1006.
    this.#fail(CloseCode.Abnormal, "the event stream ended without a close event");
  }

  #onEvent(event: StreamEvent): void {
    if (this.#readyState !== OPEN) return;
    if (event.type === "close") {
      const { code, reason } = parseCloseEvent(event.data);
      this.#finish(code, reason, true);
      return;
    }
    if (event.type !== "message") return;
    let data = event.data;
    if (!this.#greeted) {
      const keyed = readHello(data, this.#url);
      if (keyed !== undefined) {
        this.#greeted = true;
        data = keyed.data;
        this.#posts.start(keyed.postUrl);
      }
    }
    this.onmessage?.({ type: "message", data });
  }
}

function definedLimits(options: SseLimits): SseLimits {
  const { maxEventChars, maxBodyBytes, maxBatchMessages, maxQueuedChars } = options;
  const given = { maxEventChars, maxBodyBytes, maxBatchMessages, maxQueuedChars };
  return Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
}
