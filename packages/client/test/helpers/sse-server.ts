import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { deferred } from "@lifeline/test-support";

/** One request the scripted server received. */
export interface Received {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** An open event stream the test writes to. */
export interface Stream {
  readonly url: URL;
  write(text: string): void;
  /** One `data:` event. */
  event(message: unknown): void;
  end(): void;
  /** Resolves when the client went away (aborted the request). */
  readonly gone: Promise<void>;
}

export type PostAnswer = (post: Received, response: ServerResponse) => void;

/**
 * A tiny HTTP server on 127.0.0.1 speaking the SSE side of PROTOCOL.md ("HTTP fallback
 * (SSE)") as each test scripts it: it keeps every stream open for the test to write to and
 * answers posts 204 unless told otherwise.
 */
export async function scriptedSseServer() {
  const streams: Stream[] = [];
  const posts: Received[] = [];
  let streamWaiters: ((stream: Stream) => void)[] = [];
  let postWaiters: { count: number; resolve: () => void }[] = [];
  let answerStream: ((request: IncomingMessage, response: ServerResponse) => boolean) | undefined;
  let answerPost: PostAnswer = (_post, response) => {
    response.writeHead(204).end();
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (request.method === "GET") {
      if (answerStream?.(request, response)) return;
      response.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
      });
      response.flushHeaders();
      const gone = deferred();
      request.socket.on("close", () => gone.resolve());
      const stream: Stream = {
        url,
        write: (text) => response.write(text),
        event: (message) => response.write(`data: ${JSON.stringify(message)}\n\n`),
        end: () => response.end(),
        gone: gone.promise,
      };
      streams.push(stream);
      const waiting = streamWaiters;
      streamWaiters = [];
      for (const resolve of waiting) resolve(stream);
      return;
    }
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const post = {
        method: request.method ?? "",
        url,
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      posts.push(post);
      postWaiters = postWaiters.filter((waiter) => {
        if (posts.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
      answerPost(post, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/sse?client_id=c1&version=1&role=frontend`,
    posts,
    /** Resolves with the next stream opened (or the latest, if one is open and unclaimed). */
    nextStream(): Promise<Stream> {
      return new Promise((resolve) => streamWaiters.push(resolve));
    },
    /** Resolves once `count` posts arrived in all. */
    postsReceived(count: number): Promise<void> {
      if (posts.length >= count) return Promise.resolve();
      return new Promise((resolve) => postWaiters.push({ count, resolve }));
    },
    /** Answers stream requests itself when it returns true. */
    onStream(answer: (request: IncomingMessage, response: ServerResponse) => boolean) {
      answerStream = answer;
    },
    onPost(answer: PostAnswer) {
      answerPost = answer;
    },
    close(): Promise<void> {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The `hello` an SSE stream opens with, `sse_key` included. */
export function sseHello(connectionId = "c.1", key = "k".repeat(22)) {
  return {
    type: "hello",
    server_time: new Date(0).toISOString(),
    accepted_version: 1,
    features: ["sse"],
    request_id: "r1",
    client_id: "c1",
    connection_id: connectionId,
    heartbeat_interval_ms: 25_000,
    sse_key: key,
  };
}
