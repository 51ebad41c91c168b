import { CloseCode, SUBPROTOCOL } from "@lifeline/protocol";
import { createEventStreamParser, type StreamEvent } from "./event-stream.js";
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
}

const defaultLimits = {
  maxEventChars: 1024 * 1024 + 64,
  maxBodyBytes: 1024 * 1024,
  maxBatchMessages: 100,
  maxQueuedChars: 16 * 1024 * 1024,
} as const;

/** A refusal's body is read only this far: enough for `{"code":403,"reason":"..."}`. */
const MAX_REFUSAL_CHARS = 1024;

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

type Listener<E> = ((event: E) => void) | null;

/** What the SSE transport offers: the members of a WebSocket the client uses. */
export interface SseSocket {
  readonly readyState: number;
  /** Always the JSON subprotocol: the SSE wire carries JSON text only. */
  readonly protocol: string;
  /** Accepted for the WebSocket shape; no binary message ever arrives on this wire. */
  binaryType: string;
  /** Characters waiting to be posted. */
  readonly bufferedAmount: number;
  onopen: Listener<{ readonly type: "open" }>;
  onmessage: Listener<{ readonly type: "message"; readonly data: string }>;
  onclose: Listener<{
    readonly type: "close";
    readonly code: number;
    readonly reason: string;
    readonly wasClean: boolean;
  }>;
  onerror: Listener<{ readonly type: "error"; readonly message: string }>;
  /** Queues one JSON text message; the messages of one tick go in one POST. */
  send(data: string | Uint8Array): void;
  /** Ends the stream; messages not yet posted are dropped, as after a WebSocket close. */
  close(code?: number, reason?: string): void;
}

/** The SSE transport: each attempt is one event stream, opened by `openSseSocket`. */
export function sseTransport(options: SseSocketOptions = {}): Transport {
  return { name: "sse", open: (url, protocols) => openSseSocket(url, protocols, options) };
}

/**
 * Opens `GET <url>` as an event stream; `url` carries the handshake parameters, like the
 * WebSocket URL. `protocols` is accepted for the WebSocket shape and ignored: the wire is
 * JSON.
 */
export function openSseSocket(
  url: string,
  _protocols?: string | readonly string[],
  options: SseSocketOptions = {},
): SseSocket {
  const limits = { ...defaultLimits, ...definedOnly(options) };
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const stream = new AbortController();
  let readyState = CONNECTING;
  /** Where posts go: known once the server's `hello` gave the connection id and key. */
  let postUrl: string | undefined;
  const queue: string[] = [];
  let queuedChars = 0;
  let posting = false;
  let pumpScheduled = false;

  const socket: SseSocket = {
    get readyState() {
      return readyState;
    },
    protocol: SUBPROTOCOL,
    binaryType: "arraybuffer",
    get bufferedAmount() {
      return queuedChars;
    },
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    send(data) {
      if (readyState === CONNECTING) {
        throw new Error("InvalidStateError: the SSE connection is still connecting");
      }
      if (readyState !== OPEN) return;
      if (typeof data !== "string") {
        throw new TypeError(
          'the SSE transport carries JSON text only: binary messages need codec "msgpack" on the WebSocket transport',
        );
      }
      queue.push(data);
      queuedChars += data.length;
      if (queuedChars > limits.maxQueuedChars) {
        fail(
          CloseCode.Abnormal,
          `more than ${limits.maxQueuedChars} characters waited to be posted`,
        );
        return;
      }
      schedulePump();
    },
    close(code, reason) {
      if (readyState === CLOSING || readyState === CLOSED) return;
      readyState = CLOSING;
      dropQueue();
      stream.abort();
      queueMicrotask(() => finish(code ?? 1005, reason ?? "", true));
    },
  };

  /** The one way to CLOSED: the close event fires once. */
  const finish = (code: number, reason: string, wasClean: boolean) => {
    if (readyState === CLOSED) return;
    readyState = CLOSED;
    dropQueue();
    stream.abort();
    socket.onclose?.({ type: "close", code, reason, wasClean });
  };

  /** A failure of the wire itself: an error event, then the close event. */
  const fail = (code: number, message: string) => {
    // CLOSING: the application closed it; the abort that follows is no failure.
    if (readyState === CLOSING || readyState === CLOSED) return;
    socket.onerror?.({ type: "error", message });
    finish(code, code === CloseCode.Abnormal ? "" : message, false);
  };

  const dropQueue = () => {
    queue.length = 0;
    queuedChars = 0;
  };

  const schedulePump = () => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    queueMicrotask(() => {
      pumpScheduled = false;
      pump();
    });
  };

  /** Posts the next batch once the previous one was accepted: order holds across posts. */
  const pump = () => {
    if (posting || queue.length === 0 || postUrl === undefined || readyState !== OPEN) return;
    const batch = takeBatch(queue, limits.maxBatchMessages, limits.maxBodyBytes);
    const chars = batch.reduce((sum, message) => sum + message.length, 0);
    posting = true;
    void post(postUrl, `[${batch.join(",")}]`).then((failure) => {
      posting = false;
      if (readyState !== OPEN) return;
      if (failure !== undefined) {
        fail(failure.code, failure.message);
        return;
      }
      queuedChars -= chars;
      pump();
    });
  };

  const post = async (
    target: string,
    body: string,
  ): Promise<{ code: number; message: string } | undefined> => {
    try {
      // `text/plain` keeps a cross-origin post a "simple request": no CORS preflight.
      const response = await fetchImpl(target, {
        method: "POST",
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body,
      });
      void response.body?.cancel().catch(() => {});
      if (response.ok) return undefined;
      // 413: the server dropped a body past its payload limit, as `ws` closes with 1009.
      const code = response.status === 413 ? CloseCode.MessageTooBig : CloseCode.Abnormal;
      return { code, message: `a post was answered with HTTP ${response.status}` };
    } catch (error) {
      return { code: CloseCode.Abnormal, message: `a post failed: ${describe(error)}` };
    }
  };

  const onEvent = (event: StreamEvent) => {
    if (readyState !== OPEN) return;
    if (event.type === "close") {
      const { code, reason } = parseCloseEvent(event.data);
      finish(code, reason, true);
      return;
    }
    if (event.type !== "message") return;
    let data = event.data;
    if (postUrl === undefined) {
      const keyed = readHello(data, url);
      if (keyed !== undefined) {
        postUrl = keyed.postUrl;
        data = keyed.data;
        schedulePump();
      }
    }
    socket.onmessage?.({ type: "message", data });
  };

  const read = async (body: ReadableStream<Uint8Array>) => {
    const parser = createEventStreamParser({ maxEventChars: limits.maxEventChars, onEvent });
    const decoder = new TextDecoder();
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (readyState !== OPEN) return;
        const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
        if (!parser.push(text)) {
          fail(
            CloseCode.MessageTooBig,
            `an event was longer than ${limits.maxEventChars} characters`,
          );
          return;
        }
        if (done) break;
      }
      // The stream ended without a close event: what a WebSocket reports as 1006.
      fail(CloseCode.Abnormal, "the event stream ended without a close event");
    } catch (error) {
      fail(CloseCode.Abnormal, `the event stream broke: ${describe(error)}`);
    } finally {
      reader.releaseLock();
    }
  };

  const start = async () => {
    let response: Response;
    try {
      response = await fetchImpl(url, {
        headers: { accept: "text/event-stream" },
        signal: stream.signal,
      });
    } catch (error) {
      fail(CloseCode.Abnormal, `the event stream could not be opened: ${describe(error)}`);
      return;
    }
    if (readyState !== CONNECTING) {
      void response.body?.cancel().catch(() => {});
      return;
    }
    const type = response.headers.get("content-type") ?? "";
    if (
      response.status !== 200 ||
      response.body === null ||
      !type.startsWith("text/event-stream")
    ) {
      // Worded like `ws`'s refused upgrade, so a refusal reads the same on both wires.
      const detail = await refusalReason(response);
      const what =
        response.status === 200 ? `content type ${JSON.stringify(type)}` : response.status;
      fail(CloseCode.Abnormal, `Unexpected server response: ${what}${detail}`);
      return;
    }
    readyState = OPEN;
    socket.onopen?.({ type: "open" });
    if (readyState === OPEN) await read(response.body);
  };

  void start();
  return socket;
}

/** Messages from the front of `queue` that fit one body; at least one. */
function takeBatch(queue: string[], maxMessages: number, maxBytes: number): string[] {
  // Two brackets, and a comma between messages.
  let bytes = 2;
  let count = 0;
  while (count < queue.length && count < maxMessages) {
    const size = utf8Length(queue[count] as string) + (count === 0 ? 0 : 1);
    if (count > 0 && bytes + size > maxBytes) break;
    bytes += size;
    count += 1;
  }
  return queue.splice(0, count);
}

/** The UTF-8 size of `text` without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair: two UTF-16 units, four bytes.
      bytes += 2;
      i += 1;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * The server's `hello` carries `sse_key`, the secret that authorizes posts (PROTOCOL.md,
 * "HTTP fallback (SSE)"). It is taken out before the message goes up: it belongs to this
 * wire, and nothing above should log it.
 */
function readHello(data: string, streamUrl: string): { postUrl: string; data: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { sse_key: key, ...hello } = parsed as Record<string, unknown>;
  if (
    hello.type !== "hello" ||
    typeof hello.connection_id !== "string" ||
    typeof key !== "string"
  ) {
    return undefined;
  }
  return { postUrl: sendUrl(streamUrl, hello.connection_id, key), data: JSON.stringify(hello) };
}

/** `<ssePath>/send?connection_id=<id>&key=<sse_key>`, beside the stream's path. */
export function sendUrl(streamUrl: string, connectionId: string, key: string): string {
  const target = new URL(streamUrl);
  target.pathname = `${target.pathname.replace(/\/+$/, "")}/send`;
  target.search = "";
  target.searchParams.set("connection_id", connectionId);
  target.searchParams.set("key", key);
  return target.toString();
}

/** `event: close` carries `{"code":<n>,"reason":"..."}`; anything else reads as 1006. */
function parseCloseEvent(data: string): { code: number; reason: string } {
  try {
    const parsed = JSON.parse(data) as { code?: unknown; reason?: unknown };
    const code = parsed.code;
    if (typeof code === "number" && Number.isInteger(code) && code >= 1000 && code <= 4999) {
      return { code, reason: typeof parsed.reason === "string" ? parsed.reason : "" };
    }
  } catch {
    // Not JSON: reported as a stream that ended without a usable close event.
  }
  return { code: CloseCode.Abnormal, reason: "the close event carried no code" };
}

/** ` (reason)` from a refusal's JSON body `{"code","reason"}`, read within a bound. */
async function refusalReason(response: Response): Promise<string> {
  const body = response.body;
  if (body === null) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < MAX_REFUSAL_CHARS) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    return "";
  } finally {
    void reader.cancel().catch(() => {});
  }
  try {
    const reason = (JSON.parse(text) as { reason?: unknown }).reason;
    return typeof reason === "string" && reason !== "" ? ` (${reason.slice(0, 200)})` : "";
  } catch {
    return "";
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" and keeps the useful part (ECONNREFUSED...) in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

function definedOnly(options: SseLimits): SseLimits {
  return Object.fromEntries(
    Object.entries(options).filter(([key, value]) => key !== "fetch" && value !== undefined),
  ) as SseLimits;
}

/**
 * The SSE endpoint beside a WebSocket endpoint (PROTOCOL.md, "HTTP fallback (SSE)"):
 * `ws:` becomes `http:`, `wss:` `https:`, and the last path segment `sse`, as
 * `new URL("sse", url)` resolves it (`/ws` -> `/sse`, `/api/ws` -> `/api/sse`). The query
 * is kept (the application's own parameters); the handshake parameters are added later.
 */
export function deriveSseUrl(webSocketUrl: string): string {
  const source = new URL(webSocketUrl);
  const derived = new URL("sse", source);
  derived.search = source.search;
  if (derived.protocol === "ws:") derived.protocol = "http:";
  else if (derived.protocol === "wss:") derived.protocol = "https:";
  return derived.toString();
}
