import type { ServerResponse } from "node:http";
import { originAllowed } from "../handshake.js";
import type { ResolvedOptions } from "../options.js";

/** Headers of an answer: name to value. */
export type Headers = Readonly<Record<string, string>>;

/**
 * The CORS headers of an answer to `origin` (Fetch standard, "CORS protocol"): an allowed
 * Origin is echoed so a browser page on it may read the answer. Credentials (cookies) are
 * allowed only when the server names its origins: with any origin allowed, a page on any
 * site could otherwise open a stream with the user's cookies and read its `sse_key`.
 */
export function corsHeaders(
  origin: string | undefined,
  allowed: ResolvedOptions<unknown>["allowedOrigins"],
): Headers {
  if (origin === undefined || !originAllowed(origin, allowed)) return { Vary: "Origin" };
  return {
    "Access-Control-Allow-Origin": origin,
    ...(allowed === undefined ? {} : { "Access-Control-Allow-Credentials": "true" }),
    Vary: "Origin",
  };
}

/** A refusal of the HTTP fallback: the status, and a JSON body `{code, reason}`. */
export function answerJson(
  response: ServerResponse,
  status: number,
  reason: string,
  headers: Headers,
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ code: status, reason });
  response.writeHead(status, {
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Length": String(Buffer.byteLength(body)),
  });
  response.end(body);
}

/** An answer without a body (204 for an accepted post or a preflight). */
export function answerEmpty(response: ServerResponse, status: number, headers: Headers): void {
  response.writeHead(status, { ...headers, "Cache-Control": "no-store" });
  response.end();
}
