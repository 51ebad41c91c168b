import type { IncomingMessage } from "node:http";

/** Most messages one post may carry (PROTOCOL.md, "HTTP fallback (SSE)"). */
export const MAX_MESSAGES_PER_POST = 100;

/** Why a post's body is refused: its HTTP status and a reason. */
export interface BodyRefusal {
  readonly status: 400 | 413;
  readonly reason: string;
}

export type BodyRead =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly refusal: BodyRefusal };

/**
 * Reads a request body of at most `maxBytes`. A declared `Content-Length` past it is refused
 * before a byte is read; a chunked body is refused as soon as it grows past it, so a
 * client can never make the server hold more than `maxBytes` for one post.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  const tooLarge: BodyRead = {
    ok: false,
    refusal: { status: 413, reason: `body larger than ${maxBytes} bytes` },
  };
  const declared = Number(request.headers["content-length"] ?? Number.NaN);
  if (declared > maxBytes) return Promise.resolve(tooLarge);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (read: BodyRead): void => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onEnd);
      resolve(read);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        settle(tooLarge);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      settle(
        request.complete
          ? { ok: true, body: Buffer.concat(chunks, size) }
          : { ok: false, refusal: { status: 400, reason: "body ended early" } },
      );
    };
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onEnd);
  });
}

export type SplitBody =
  | { readonly ok: true; readonly messages: readonly Buffer[] }
  | { readonly ok: false; readonly refusal: BodyRefusal };

/**
 * A post's body as the messages it carries, each exactly the bytes the client sent (a
 * message then meets the same parser as a WebSocket frame): one JSON object, or a JSON
 * array of up to 100 values. An element that is not an object is passed on too: the
 * dispatcher answers it with an `error` event, as it would a frame.
 */
export function splitMessages(body: Buffer): SplitBody {
  const text = body.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refuse(400, "body is not JSON");
  }
  if (Array.isArray(value)) {
    if (value.length > MAX_MESSAGES_PER_POST) {
      return refuse(413, `more than ${MAX_MESSAGES_PER_POST} messages in one body`);
    }
    return { ok: true, messages: arrayElements(text).map((element) => Buffer.from(element)) };
  }
  if (typeof value === "object" && value !== null) return { ok: true, messages: [body] };
  return refuse(400, "body must be a JSON object or an array of them");
}

function refuse(status: 400 | 413, reason: string): SplitBody {
  return { ok: false, refusal: { status, reason } };
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * The source text of each element of `text`, a valid JSON array (JSON.parse accepted it):
 * commas at depth one separate elements, and nothing inside a string counts.
 */
export function arrayElements(text: string): string[] {
  const elements: string[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i += 1;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      depth += 1;
      if (depth === 1) start = i + 1;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      if (depth === 1) push(elements, text, start, i);
      depth -= 1;
    } else if (c === COMMA && depth === 1) {
      push(elements, text, start, i);
      start = i + 1;
    }
  }
  return elements;
}

function push(elements: string[], text: string, start: number, end: number): void {
  const element = text.slice(start, end).trim();
  if (element !== "") elements.push(element);
}
