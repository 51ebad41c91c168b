import type { IncomingMessage, ServerResponse } from "node:http";
import type { Log } from "./logging.js";
import type { Metrics } from "./metrics.js";
import type { ResolvedOptions } from "./options.js";
import type { ServerStats } from "./stats.js";
import type { HttpRoute } from "./transport/sse-routes.js";

/** `GET /health` body (README, "Observability"). */
export interface HealthReport {
  /** `ok` (HTTP 200), or `degraded` (the broker is unhealthy) and `closing` (HTTP 503). */
  readonly status: "ok" | "degraded" | "closing";
  /** The WebSocket endpoint and the broker, each healthy or not. */
  readonly services: {
    readonly websocket: { readonly healthy: boolean; readonly activeConnections: number };
    readonly broker: { readonly healthy: boolean; readonly detail?: string };
  };
}

export interface EndpointSources {
  readonly stats: () => ServerStats;
  readonly health: () => HealthReport;
  readonly connections: () => readonly Record<string, unknown>[];
  readonly metrics: Metrics;
  readonly status: ResolvedOptions<unknown>["status"];
  readonly logger: Log;
}

/**
 * Serves Lifeline's HTTP endpoints on a request, or passes it on: true when it took the
 * request; false (after calling `next`, when given) when the request is for another path.
 * Shaped as a connect/Express middleware, so `app.use(handler)` mounts it.
 */
export type HttpHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: (error?: unknown) => void,
) => boolean;

/**
 * `GET /health`, `GET /api/websocket/status` (off unless `status.enabled`, then behind
 * `status.authorize`) and `GET /metrics`, after `routes` (the HTTP fallback's, PROTOCOL.md
 * "HTTP fallback (SSE)"). Returns true when it took the request, so it mounts on any Node
 * HTTP server or framework that hands out `req`/`res`.
 */
export function createHttpHandler(
  sources: EndpointSources,
  routes: readonly HttpRoute[] = [],
): HttpHandler {
  const serve = createEndpoints(sources);
  return (request, response, next) => {
    for (const route of routes) if (route(request, response)) return true;
    if (serve(request, response)) return true;
    next?.();
    return false;
  };
}

function createEndpoints(
  sources: EndpointSources,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  return (request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") return false;
    const path = (request.url ?? "/").split("?")[0];
    switch (path) {
      case "/health": {
        const report = sources.health();
        sendJson(response, report.status === "ok" ? 200 : 503, report);
        return true;
      }
      case "/api/websocket/status":
        if (!sources.status.enabled) return false;
        void serveStatus(sources, request, response);
        return true;
      case "/metrics":
        sources.metrics.render().then(
          (text) => {
            response.writeHead(200, { "content-type": sources.metrics.contentType });
            response.end(text);
          },
          (error: unknown) => {
            sources.logger.error({ err: error }, "metrics rendering failed");
            sendJson(response, 500, { error: "metrics unavailable" });
          },
        );
        return true;
      default:
        return false;
    }
  };
}

async function serveStatus(
  sources: EndpointSources,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  try {
    const guard = sources.status.authorize;
    if (guard && !(await guard(request))) {
      sendJson(response, 403, { error: "forbidden" });
      return;
    }
    sendJson(response, 200, { summary: sources.stats(), connections: sources.connections() });
  } catch (error) {
    sources.logger.error({ err: error }, "status endpoint failed");
    sendJson(response, 500, { error: "status unavailable" });
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}
