import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { createMessageQueue, type Message } from "./message-queue.js";
import { within } from "./within.js";
import { ofType } from "./ws-client.js";

/** How a stream ended: its close event's code and reason, or 1006 without one. */
export interface StreamEnd {
  readonly code: number;
  readonly reason: string;
}

/** An answer to a plain HTTP request: status, headers and the body as text. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A hand-written peer of the HTTP fallback (PROTOCOL.md, "HTTP fallback (SSE)") over
 * `node:http`, independent of the Lifeline client: it parses the event stream itself and
 * posts as any other language would.
 */
export interface SseTestClient {
  /** The stream's answer: 200 and its headers. */
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Every `data:` event, parsed. */
  readonly received: Message[];
  /** Comment lines seen (`ok` first). */
  readonly comments: string[];
  next(
    predicate?: (message: Message) => boolean,
    label?: string,
    timeoutMs?: number,
  ): Promise<Message>;
  /** Resolves when the stream ends: with its close event, or 1006 when it had none. */
  readonly closed: Promise<StreamEnd>;
  /** Stops reading the stream, as a reader that falls behind. */
  pause(): void;
  /** Reads the stream again after `pause()`. */
  resume(): void;
  /** Calls `listener` with every message from now on, as it arrives. */
  onMessage(listener: (message: Message) => void): void;
  /** Aborts the stream, as a closed browser tab would. */
  close(): Promise<void>;
}

/** An opened stream with its hello: `sse_key` and `connection_id` address its posts. */
export interface SseSession extends SseTestClient {
  readonly hello: Message;
  readonly connectionId: string;
  readonly key: string;
  /** Posts `body` (any JSON value; a string is sent as is) to this connection. */
  post(body: unknown, headers?: Record<string, string>): Promise<HttpAnswer>;
  /** Posts one message and expects 204. */
  send(message: unknown): Promise<void>;
}

/** `http://127.0.0.1:<port><path>`. */
export function httpUrl(server: { readonly port: number }, path: string): string {
  return `http://127.0.0.1:${server.port}${path}`;
}

/**
 * Opens `GET url` and resolves once the answer's headers arrive: a 200 gives the stream;
 * any other status rejects with an error naming it and the body.
 */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseTestClient> {
  const queue = createMessageQueue();
  const listeners: ((message: Message) => void)[] = [];
  const comments: string[] = [];
  let ended: (end: StreamEnd) => void = () => {};
  const closed = new Promise<StreamEnd>((resolve) => {
    ended = resolve;
  });
  const opening = new Promise<SseTestClient>((resolve, reject) => {
    const req = httpRequest(url, { headers: { Accept: "text/event-stream", ...headers } });
    req.on("error", (error) => {
      reject(error);
      ended({ code: 1006, reason: "" });
    });
    req.on("response", (response) => {
      if (response.statusCode !== 200) {
        collect(response).then((body) =>
          reject(new Error(`GET ${url} answered ${response.statusCode}: ${body}`)),
        );
        return;
      }
      let buffer = "";
      let closeEvent: StreamEnd | undefined;
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event.comment !== undefined) comments.push(event.comment);
          if (event.data === undefined) continue;
          const value = JSON.parse(event.data) as Message;
          if (event.name === "close") closeEvent = value as unknown as StreamEnd;
          else {
            queue.push(value);
            for (const listener of listeners) listener(value);
          }
        }
      });
      response.on("close", () => ended(closeEvent ?? { code: 1006, reason: "" }));
      resolve({
        status: response.statusCode,
        headers: response.headers,
        received: queue.received,
        comments,
        next: queue.next,
        closed,
        pause: () => response.pause(),
        resume: () => response.resume(),
        onMessage: (listener) => listeners.push(listener),
        async close() {
          req.destroy();
          await within(closed, "the stream to close");
        },
      });
    });
    req.end();
  });
  return within(opening, `the answer to GET ${url}`);
}

function parseEvent(block: string): { name?: string; data?: string; comment?: string } {
  const event: { name?: string; data?: string; comment?: string } = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) event.comment = line.slice(1);
    else if (line.startsWith("event: ")) event.name = line.slice(7);
    else if (line.startsWith("data: ")) {
      event.data = event.data === undefined ? line.slice(6) : `${event.data}\n${line.slice(6)}`;
    }
  }
  return event;
}

function collect(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      text += chunk;
    });
    stream.on("end", () => resolve(text));
    stream.on("error", () => resolve(text));
  });
}

/** Sends one HTTP request and collects the answer (an early answer to a large body too). */
export function httpCall(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpAnswer> {
  const answer = new Promise<HttpAnswer>((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers: options.headers });
    // A server that answers before reading a whole body may reset the upload: the answer
    // already received is what the test looks at.
    req.on("error", reject);
    req.on("response", (response) => {
      collect(response).then((body) =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      );
    });
    req.end(options.body);
  });
  return within(answer, `the answer to ${options.method ?? "GET"} ${url}`);
}

/**
 * Opens the stream of `server` as `clientId` and waits for its hello; `post`/`send` then
 * go to `<ssePath>/send` with its connection id and key.
 */
export async function connectSse(
  server: { readonly port: number },
  clientId = "c1",
  extraQuery = "",
  options: { path?: string; headers?: Record<string, string> } = {},
): Promise<SseSession> {
  const path = options.path ?? "/sse";
  const query = `client_id=${clientId}&version=1&role=test${extraQuery}`;
  const client = await openSse(httpUrl(server, `${path}?${query}`), options.headers);
  const hello = await client.next(ofType("hello"), "hello");
  const connectionId = String(hello.connection_id);
  const key = String(hello.sse_key);
  const sendUrl = httpUrl(
    server,
    `${path}/send?connection_id=${encodeURIComponent(connectionId)}&key=${key}`,
  );
  const post = (body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> =>
    httpCall(sendUrl, {
      method: "POST",
      headers: { "Content-Type": "text/plain", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  return Object.assign(client, {
    hello,
    connectionId,
    key,
    post,
    async send(message: unknown) {
      const answer = await post(message);
      if (answer.status !== 204) {
        throw new Error(`post answered ${answer.status}: ${answer.body}`);
      }
    },
  });
}
