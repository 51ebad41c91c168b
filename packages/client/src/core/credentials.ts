import type { ErrorBody } from "@lifeline/protocol";
import { createRefresher, type Refresher } from "../session/refresh.js";
import type { TokenOption } from "../session/token.js";
import type { StatsRecorder } from "../state/stats.js";
import type { ConnectionLink } from "./link.js";
import type { Messaging } from "./messaging.js";
import type { ClientSettings } from "./settings.js";

/**
 * The refresher of in-band credentials (PROTOCOL.md, "Credentials in band"), wired to the
 * link it sends on and to the subscriptions a refreshed token no longer allows.
 */
export function createClientRefresher(deps: {
  readonly token: TokenOption | undefined;
  readonly settings: ClientSettings;
  readonly stats: StatsRecorder;
  readonly link: ConnectionLink;
  readonly messaging: Messaging;
  /** Refused twice: the client gives up the connection (4401, cause `auth`). */
  readonly onRefused: (error: ErrorBody) => void;
}): Refresher {
  const { settings, stats, messaging } = deps;
  return createRefresher({
    token: deps.token,
    clock: settings.clock,
    stepTimeoutMs: settings.connectTimeoutMs,
    log: settings.log,
    serverRefreshes: () => stats.serverFeatures.includes("refresh"),
    send: (frame) => deps.link.sendCounted("refresh", frame),
    nextId: () => messaging.sender.nextId("t"),
    onRefreshed(result) {
      settings.log.info("credentials refreshed", { forbidden: result.forbidden });
      for (const topic of result.forbidden) {
        messaging.subscriptions.revoke(topic, {
          code: "forbidden",
          message: "the refreshed credentials do not allow it",
        });
      }
    },
    onRefused: deps.onRefused,
  });
}
