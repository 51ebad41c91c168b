import {
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";

export type { Tracer } from "@opentelemetry/api";

/**
 * The tracer `createServer` uses unless given one: `@opentelemetry/api`'s global, which
 * does nothing (and allocates little) until the application registers an OpenTelemetry
 * SDK, and from then on records, even when the SDK is registered after the server started.
 */
export function defaultTracer(): Tracer {
  return trace.getTracer("@lifeline/server");
}

/** Span names carry the method; names a client made up share one, as in the metrics. */
export const UNKNOWN_METHOD = "(unknown)";

/**
 * Starts the span of one request (OpenTelemetry RPC conventions, `rpc.system` "lifeline")
 * and runs `start` with it active, so spans the handler opens become its children.
 */
export function traceRequest<T>(
  tracer: Tracer,
  request: { readonly method: string; readonly clientId: string; readonly connectionId: string },
  start: (span: Span) => T,
): T {
  const span = tracer.startSpan(`lifeline.rpc ${request.method}`, {
    kind: SpanKind.SERVER,
    attributes: {
      "rpc.system": "lifeline",
      "rpc.method": request.method,
      "lifeline.client_id": request.clientId,
      "lifeline.connection_id": request.connectionId,
    },
  });
  return context.with(trace.setSpan(context.active(), span), () => start(span));
}

/** Ends a span, marked as an error with `code` when there is one. */
export function endSpan(span: Span, code?: string, message?: string): void {
  if (code !== undefined) {
    span.setAttribute("lifeline.error_code", code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: message ?? code });
  }
  span.end();
}

/** Runs the server's own `publish()` inside a producer span (messaging conventions). */
export async function tracePublish<T extends { readonly offset: number }>(
  tracer: Tracer,
  topic: string,
  run: () => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(
    "lifeline.publish",
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        "messaging.system": "lifeline",
        "messaging.operation.type": "send",
        "messaging.destination.name": topic,
      },
    },
    async (span) => {
      try {
        const result = await run();
        span.setAttribute("lifeline.offset", result.offset);
        endSpan(span);
        return result;
      } catch (error) {
        if (error instanceof Error) span.recordException(error);
        const code = (error as { code?: unknown }).code;
        endSpan(span, typeof code === "string" ? code : "error", String(error));
        throw error;
      }
    },
  );
}

/**
 * The span of the `authenticate` hook, the one part of a handshake the application
 * controls (and the one that can be slow: a token lookup). The rest is synchronous.
 */
export async function traceAuthenticate<T>(
  tracer: Tracer,
  handshake: { readonly clientId: string; readonly role: string; readonly remoteAddress: string },
  run: () => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(
    "lifeline.handshake",
    {
      kind: SpanKind.SERVER,
      attributes: {
        "lifeline.client_id": handshake.clientId,
        "lifeline.role": handshake.role,
        "client.address": handshake.remoteAddress,
      },
    },
    async (span) => {
      try {
        const result = await run();
        endSpan(span);
        return result;
      } catch (error) {
        const code = (error as { closeCode?: unknown }).closeCode;
        endSpan(span, typeof code === "number" ? String(code) : "refused", String(error));
        throw error;
      }
    },
  );
}
