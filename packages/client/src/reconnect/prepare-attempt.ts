import type { Role } from "@lifeline/protocol";
import { resolveToken, type TokenContext, type TokenOption } from "../session/token.js";
import type { TransitionCause } from "../state/machine.js";
import { buildSocketUrl } from "../transport/handshake-url.js";
import { probeReadiness } from "../transport/readiness.js";
import type { WebSocketConstructor } from "../transport/socket.js";
import type { Transport } from "../transport/transport.js";
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
    const WebSocket =
      inputs.WebSocket ??
      (await bounded(inputs.resolveWebSocket(), stepTimeoutMs, clock, "loading a WebSocket"));
    if (!isCurrent()) return undefined;
    const url = buildSocketUrl(base, { clientId: inputs.clientId, role: inputs.role, token });
    return { ok: true, base, url, transport: webSocketTransport(WebSocket) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const cause: TransitionCause = {
      reason: `the attempt could not start: ${message}`,
      errorClass: error instanceof StepTimeout ? "timeout" : "unknown",
    };
    return base === undefined ? { ok: false, cause } : { ok: false, base, cause };
  }
}
