import type { Role } from "@lifeline/protocol";
import { resolveToken, type TokenContext, type TokenOption } from "../session/token.js";
import type { TransitionCause } from "../state/machine.js";
import { type CodecName, type CodecSet, offeredProtocols } from "../transport/codec.js";
import { buildSocketUrl } from "../transport/handshake-url.js";
import { probeReadiness } from "../transport/readiness.js";
import type { WebSocketConstructor } from "../transport/socket.js";
import type { SseSocketOptions } from "../transport/sse.js";
import { deriveSseUrl } from "../transport/sse-wire.js";
import type { Transport, TransportName } from "../transport/transport.js";
import type { UrlRotation } from "../transport/url-rotation.js";
import { type WebSocketResolver, webSocketTransport } from "../transport/websocket.js";
import { bounded, StepTimeout } from "../util/bounded.js";
import type { Clock } from "../util/clock.js";

export interface AttemptInputs {
  readonly urls: UrlRotation;
  readonly clientId: string;
  readonly role: Role;
  readonly token: TokenOption | undefined;
  readonly readinessUrl: string | undefined;
  readonly readinessTimeoutMs: number;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly resolveWebSocket: WebSocketResolver;
  /** The `sseUrl` option. */
  readonly sseUrl: string | ((webSocketUrl: string) => string) | undefined;
  /** The `sse` option. */
  readonly sse: SseSocketOptions;
  /** The codec asked for, and the loader of the codecs it needs. */
  readonly codec: CodecName;
  readonly codecs: () => Promise<CodecSet>;
  readonly clock: Clock;
  /** Bounds each application-supplied step (URL and token functions, loading `ws`). */
  readonly stepTimeoutMs: number;
}

export type PreparedAttempt =
  | {
      readonly ok: true;
      /** The endpoint before the handshake parameters were added (safe to log). */
      readonly base: string;
      readonly url: string;
      /** How this attempt reaches the server. */
      readonly transport: Transport;
      /** The subprotocols to offer, preferred first. */
      readonly protocols: readonly string[];
      readonly codecs: CodecSet;
    }
  | { readonly ok: false; readonly base?: string; readonly cause: TransitionCause };

/**
 * Everything an attempt needs before its transport opens: the URL (rotated or computed),
 * the readiness probe, a fresh token, the transport (the WebSocket implementation).
 * `isCurrent` is checked after every await, so an attempt superseded meanwhile (close,
 * reconnect) stops quietly.
 */
export async function prepareAttempt(
  inputs: AttemptInputs,
  context: TokenContext,
  isCurrent: () => boolean,
  wire: TransportName = "websocket",
): Promise<PreparedAttempt | undefined> {
  let base: string | undefined;
  try {
    const { clock, stepTimeoutMs } = inputs;
    base = await bounded(
      inputs.urls.resolve(context.attempt),
      stepTimeoutMs,
      clock,
      "the url function",
    );
    if (!isCurrent()) return undefined;
    if (inputs.readinessUrl !== undefined) {
      const notReady = await probeReadiness(
        inputs.readinessUrl,
        inputs.readinessTimeoutMs,
        inputs.clock,
      );
      if (!isCurrent()) return undefined;
      if (notReady) return { ok: false, base, cause: notReady };
    }
    const token = await bounded(
      resolveToken(inputs.token, context),
      stepTimeoutMs,
      clock,
      "the token function",
    );
    if (!isCurrent()) return undefined;
    const handshake = { clientId: inputs.clientId, role: inputs.role, token };
    if (wire === "sse") {
      const [transport, codecs] = await Promise.all([
        bounded(sseOf(inputs), stepTimeoutMs, clock, "loading the SSE transport"),
        bounded(inputs.codecs(), stepTimeoutMs, clock, "loading the codec"),
      ]);
      if (!isCurrent()) return undefined;
      const sseBase = sseUrlOf(inputs, base);
      const url = buildSocketUrl(sseBase, handshake);
      // The SSE wire is JSON only (PROTOCOL.md, "HTTP fallback (SSE)").
      const protocols = offeredProtocols("json");
      return { ok: true, base: sseBase, url, transport, protocols, codecs };
    }
    const [WebSocket, codecs] = await Promise.all([
      inputs.WebSocket ??
        bounded(inputs.resolveWebSocket(), stepTimeoutMs, clock, "loading a WebSocket"),
      bounded(inputs.codecs(), stepTimeoutMs, clock, "loading the codec"),
    ]);
    if (!isCurrent()) return undefined;
    const url = buildSocketUrl(base, handshake);
    const protocols = offeredProtocols(inputs.codec);
    return { ok: true, base, url, transport: webSocketTransport(WebSocket), protocols, codecs };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const cause: TransitionCause = {
      reason: `the attempt could not start: ${message}`,
      errorClass: error instanceof StepTimeout ? "timeout" : "unknown",
    };
    return base === undefined ? { ok: false, cause } : { ok: false, base, cause };
  }
}

/** The SSE endpoint of the WebSocket URL `base` (the `sseUrl` option, or the sibling `sse`). */
function sseUrlOf(inputs: AttemptInputs, base: string): string {
  const option = inputs.sseUrl;
  if (option === undefined) return deriveSseUrl(base);
  return typeof option === "string" ? option : option(base);
}

type SseModule = typeof import("../transport/sse.js");
let sseImport: Promise<SseModule> | undefined;

/**
 * The SSE socket, loaded on the first attempt that needs it, like the MessagePack codec:
 * a bundler puts it in a chunk of its own, so a page whose WebSocket works never loads the
 * fallback. A failed load (a network error fetching the chunk) is tried again next time.
 */
async function sseOf(inputs: AttemptInputs): Promise<Transport> {
  if (typeof (inputs.sse.fetch ?? globalThis.fetch) !== "function") {
    throw new TypeError(
      'the SSE transport needs fetch: pass "sse.fetch", or leave "sse" out of "transports"',
    );
  }
  sseImport ??= import("../transport/sse.js").catch((error: unknown) => {
    sseImport = undefined;
    throw error;
  });
  return (await sseImport).sseTransport(inputs.sse);
}
