import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AdmittedHandshake, HandshakeAnswer } from "../admission.js";
import type { Counters } from "../stats.js";
import { bump } from "../stats.js";
import { answerJson, type Headers } from "./http-answers.js";
import { SseStream } from "./sse-stream.js";

/** Opens a connection over `stream` for an admitted handshake (sends its hello). */
export type OpenSse<Principal> = (
  handshake: AdmittedHandshake<Principal>,
  stream: SseStream,
) => void;

/** 128 random bits, base64url: 22 characters (PROTOCOL.md, "HTTP fallback (SSE)"). */
export function newSseKey(): string {
  return randomBytes(16).toString("base64url");
}

/**
 * The SSE endpoint's side of admission (PROTOCOL.md, "HTTP fallback (SSE)"): what the
 * WebSocket endpoint refuses with an HTTP status gets the same status and a JSON body;
 * what it tells with a close code opens the stream and ends it with the close event.
 */
export function sseAnswer<Principal>(
  request: IncomingMessage,
  response: ServerResponse,
  cors: Headers,
  deps: { readonly open: OpenSse<Principal>; readonly counters: Counters },
): HandshakeAnswer<Principal> {
  const opened = (key: string): SseStream => {
    // The stream lives as long as the connection: no idle timeout may cut it. Each event
    // leaves at once: Nagle's algorithm would hold a small one back for the previous ACK.
    request.socket.setTimeout(0);
    request.socket.setNoDelay(true);
    return SseStream.open(response, key, cors);
  };
  return {
    gone: () => response.socket === null || response.socket.destroyed,
    refuse: (status, reason, headers) =>
      answerJson(response, status, reason, { ...cors, ...headers }),
    close(code, reason, release) {
      release();
      bump(deps.counters.closes, String(code));
      opened("").close(code, reason);
    },
    accept(handshake, release) {
      const stream = opened(newSseKey());
      release();
      deps.open(handshake, stream);
    },
    drop: () => response.destroy(),
  };
}
