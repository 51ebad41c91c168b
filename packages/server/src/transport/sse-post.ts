import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { answerEmpty, answerJson, type Headers } from "./http-answers.js";
import { readBody, splitMessages } from "./sse-body.js";
import { isSseStream } from "./sse-stream.js";

/** The connection a post is for, as the routes see it: its socket is its stream. */
export interface SsePostTarget {
  readonly socket: unknown;
}

export interface SsePostDeps<T extends SsePostTarget> {
  /** The open SSE connection with this id, if any. */
  readonly find: (connectionId: string) => T | undefined;
  /** Hands the post's messages to the connection, in order, as frames of a WebSocket. */
  readonly receive: (target: T, messages: readonly Buffer[]) => void;
  /** The largest body, in bytes: the server's `limits.maxPayload`. */
  readonly maxBytes: number;
}

const unknownConnection = "unknown connection";
/** For an answer given without reading the whole body: the socket goes with it. */
export const closingHeaders: Readonly<Record<string, string>> = { Connection: "close" };

/**
 * `POST <ssePath>/send?connection_id=..&key=..` (PROTOCOL.md, "HTTP fallback (SSE)"):
 * 404 unless the id names an open SSE connection and the key is its `sse_key` (the
 * answer never says which, and the key is compared in constant time); 413 past the size
 * or message-count limit; 400 when the body is not a JSON object or array; otherwise the
 * messages are handled in order and the post is answered 204, their replies arriving on
 * the stream. Content types are not looked at, so a browser can post `text/plain`
 * without a CORS preflight.
 */
export async function handlePost<T extends SsePostTarget>(
  request: IncomingMessage,
  response: ServerResponse,
  params: ReadonlyMap<string, string>,
  cors: Headers,
  deps: SsePostDeps<T>,
): Promise<void> {
  const find = (): T | undefined => {
    const target = deps.find(params.get("connection_id") ?? "");
    const stream = target?.socket;
    if (!isSseStream(stream)) return undefined;
    return keysMatch(stream.key, params.get("key") ?? "") && stream.isOpen ? target : undefined;
  };
  if (find() === undefined) {
    // The body is not read: the socket goes with the answer rather than drain it.
    answerJson(response, 404, unknownConnection, { ...cors, ...closingHeaders });
    return;
  }
  const read = await readBody(request, deps.maxBytes);
  if (!read.ok) {
    // The rest of a body too large is not read: the socket goes with the answer.
    const close = read.refusal.status === 413 ? closingHeaders : {};
    answerJson(response, read.refusal.status, read.refusal.reason, { ...cors, ...close });
    return;
  }
  const split = splitMessages(read.body);
  if (!split.ok) {
    answerJson(response, split.refusal.status, split.refusal.reason, cors);
    return;
  }
  // The stream may have closed while the body arrived.
  const target = find();
  if (target === undefined) {
    answerJson(response, 404, unknownConnection, cors);
    return;
  }
  deps.receive(target, split.messages);
  answerEmpty(response, 204, cors);
}

/** Compares secrets in time that does not depend on where they differ. */
export function keysMatch(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  if (expected === "" || a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
