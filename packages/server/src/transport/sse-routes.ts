import type { IncomingMessage, ServerResponse } from "node:http";
import type { Admit } from "../admission.js";
import type { ServerContext } from "../context.js";
import { originAllowed, parseTarget } from "../handshake.js";
import { bump } from "../stats.js";
import { answerEmpty, answerJson, corsHeaders, type Headers } from "./http-answers.js";
import { type OpenSse, sseAnswer } from "./sse-handshake.js";
import { closingHeaders, handlePost, type SsePostDeps, type SsePostTarget } from "./sse-post.js";

/** Serves a request when it is for one of its paths (true), else leaves it (false). */
export type HttpRoute = (request: IncomingMessage, response: ServerResponse) => boolean;

export interface SseRouteDeps<Principal, T extends SsePostTarget> extends SsePostDeps<T> {
  readonly admit: Admit<Principal>;
  readonly open: OpenSse<Principal>;
}

/** How long a browser may cache a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = "600";

/**
 * The HTTP fallback's two routes (PROTOCOL.md, "HTTP fallback (SSE)"): `GET <path>` admits
 * like the WebSocket endpoint and opens the event stream, `POST <path>/send` carries the
 * client's messages. Other methods get 405 with `Allow`; `OPTIONS` answers a CORS
 * preflight (clients avoid it by posting `text/plain`).
 */
export function createSseRoutes<Principal, T extends SsePostTarget>(
  ctx: ServerContext<Principal>,
  path: string,
  deps: SseRouteDeps<Principal, T>,
): HttpRoute {
  const { opts, counters, logger } = ctx;
  const sendPath = `${path}/send`;

  function preflight(response: ServerResponse, origin: string | undefined, cors: Headers): void {
    if (!originAllowed(origin, opts.allowedOrigins)) {
      answerJson(response, 403, "origin not allowed", cors);
      return;
    }
    answerEmpty(response, 204, {
      ...cors,
      "Access-Control-Allow-Methods": "GET, POST",
      "Access-Control-Allow-Headers": "Content-Type",
      "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    });
  }

  function post(
    request: IncomingMessage,
    response: ServerResponse,
    params: ReadonlyMap<string, string>,
    cors: Headers,
  ): void {
    if (!originAllowed(request.headers.origin, opts.allowedOrigins)) {
      answerJson(response, 403, "origin not allowed", { ...cors, ...closingHeaders });
      return;
    }
    handlePost(request, response, params, cors, deps).catch((error: unknown) => {
      logger.error({ err: error }, "sse post failed");
      answerJson(response, 500, "post failed", cors);
    });
  }

  function serve(
    request: IncomingMessage,
    response: ServerResponse,
    target: { readonly path: string; readonly params: ReadonlyMap<string, string> },
  ): void {
    const origin = request.headers.origin;
    const cors = corsHeaders(origin, opts.allowedOrigins);
    const method = request.method ?? "GET";
    const stream = target.path === path;
    if (method === "OPTIONS") {
      preflight(response, origin, cors);
    } else if (stream && method === "GET") {
      deps.admit(request, target.params, sseAnswer(request, response, cors, { ...deps, counters }));
    } else if (!stream && method === "POST") {
      post(request, response, target.params, cors);
    } else {
      const allow = stream ? "GET, OPTIONS" : "POST, OPTIONS";
      answerJson(response, 405, `${method} is not allowed here; use ${allow}`, {
        ...cors,
        Allow: allow,
      });
    }
  }

  return (request, response) => {
    const target = parseTarget(request.url);
    if (target === undefined || (target.path !== path && target.path !== sendPath)) return false;
    try {
      serve(request, response, target);
    } catch (error) {
      // An application hook that throws (`allowedOrigins`) drops this request, as it drops
      // a WebSocket handshake, and never reaches the HTTP server's request event.
      if (target.path === path) bump(counters.handshakeFailures, "error");
      logger.error({ err: error }, target.path === path ? "handshake crashed" : "sse post failed");
      response.destroy();
    }
    return true;
  };
}
