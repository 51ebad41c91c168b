import type { ClientMessage, ErrorBody, ServerMessage } from "@lifeline/protocol";
import type { PresenceTracker } from "../delivery/presence.js";
import type { PublishTracker } from "../delivery/publish.js";
import type { RequestTracker } from "../delivery/requests.js";
import type { SubscriptionRegistry } from "../delivery/subscriptions.js";
import { LifelineError } from "../errors.js";
import type { Refresher } from "../session/refresh.js";
import type { RoundTrips } from "../state/round-trip.js";
import type { StatsRecorder } from "../state/stats.js";
import type { Logger } from "../util/logger.js";

const PONG: ClientMessage = { type: "pong" };

/**
 * Routes each frame after `hello` to the part that owns it. Responses are matched by id:
 * a request's, else a publish's; a failure may also be a refused subscribe.
 */
export function createDispatcher(parts: {
  readonly stats: StatsRecorder;
  readonly roundTrips: RoundTrips;
  readonly requests: RequestTracker;
  readonly publishes: PublishTracker;
  readonly subscriptions: SubscriptionRegistry;
  readonly presence: PresenceTracker;
  readonly refresher: Refresher;
  readonly log: Logger;
  /** Sends a control message on the open connection; false when there is none. */
  readonly send: (message: ClientMessage) => boolean;
  readonly reportError: (error: LifelineError) => void;
}): (message: ServerMessage) => void {
  const { stats, requests, publishes, subscriptions, presence, log } = parts;

  const settleFailure = (id: string, error: ErrorBody): boolean =>
    requests.settle(id, { ok: false, error }) ||
    publishes.settle(id, { ok: false, error }) ||
    subscriptions.handleFailure(id, error) ||
    presence.settle(id, { ok: false, error });

  // Each case counts its type under a literal key: a counter keyed by the parsed `type`
  // string made every frame pay a dictionary lookup of a freshly allocated string.
  return (message) => {
    switch (message.type) {
      case "message":
        stats.countReceived("message");
        subscriptions.handleMessage(message);
        return;
      case "ping":
        stats.countReceived("ping");
        stats.heartbeatsReceived += 1;
        if (parts.send(PONG)) stats.countSent("pong");
        return;
      case "pong":
        stats.countReceived("pong");
        parts.roundTrips.pongReceived();
        return;
      case "subscribed":
        stats.countReceived("subscribed");
        subscriptions.handleSubscribed(message);
        return;
      case "response":
        stats.countReceived("response");
        if (parts.refresher.handleResponse(message)) return;
        if (!message.ok) settleFailure(message.id, message.error);
        else if (!requests.settle(message.id, message) && !publishes.settle(message.id, message)) {
          presence.settle(message.id, message);
        }
        return;
      case "presence_diff":
        stats.countReceived("presence_diff");
        presence.handleDiff(message);
        return;
      case "error": {
        stats.countReceived("error");
        const body = { code: message.code, message: message.message };
        if (message.id !== undefined && settleFailure(message.id, body)) return;
        log.warn("the server reported an error", body);
        parts.reportError(new LifelineError(message.code, message.message));
        return;
      }
      case "token_expiring":
        stats.countReceived("token_expiring");
        parts.refresher.expiring(message.expires_at);
        return;
      case "shutdown":
        stats.countReceived("shutdown");
        log.info("the server is shutting down", {
          reason: message.reason,
          reconnectAfterMs: message.reconnect_after_ms,
        });
        return;
      default:
        // hello (handled by the connection) and unsubscribed need nothing more: a
        // subscription the server drops after a refresh is listed in the refresh's result.
        stats.countReceived(message.type);
        return;
    }
  };
}
