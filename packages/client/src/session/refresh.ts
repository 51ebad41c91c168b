import type { ClientMessage, ErrorBody, RefreshResult, ResponseMessage } from "@lifeline/protocol";
import { bounded } from "../util/bounded.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import { resolveToken, type TokenOption } from "./token.js";

export interface RefresherDeps {
  readonly token: TokenOption | undefined;
  readonly clock: Clock;
  /** Bounds the token function, as for an attempt. */
  readonly stepTimeoutMs: number;
  readonly log: Logger;
  /** True when the server announced the `refresh` feature in its hello. */
  readonly serverRefreshes: () => boolean;
  /** Sends on the open connection; false when there is none. */
  readonly send: (message: ClientMessage) => boolean;
  readonly nextId: () => string;
  /** The refresh went through; `forbidden` lists the subscriptions the server dropped. */
  readonly onRefreshed: (result: RefreshResult) => void;
  /** The server refused two tokens in a row: the client gives up (4401, cause `auth`). */
  readonly onRefused: (error: ErrorBody) => void;
}

interface InFlight {
  readonly id: string;
  /** 0 for the first token, 1 for the one asked for after a refusal. */
  readonly attempt: number;
  readonly expiresAt: number;
}

/**
 * Credentials in band, client side (PROTOCOL.md, "Credentials in band"): on
 * `token_expiring` it asks the `token` function for a new token and sends `refresh`; a
 * refusal makes it ask once more, a second refusal gives up. One refresh at a time per
 * connection; a connection that drops forgets its refresh, and a token that arrives after
 * the drop is not sent (the next attempt asks the function anyway).
 */
export function createRefresher(deps: RefresherDeps) {
  let inFlight: InFlight | undefined;
  let asking = false;
  /** Bumped when the connection drops: answers of the token function for older ones are stale. */
  let epoch = 0;

  async function send(attempt: number, expiresAt: number): Promise<void> {
    const option = deps.token;
    if (typeof option !== "function") {
      deps.log.warn(
        "the server announced that the credentials expire, but the token option is not a function: the server will close with 4401",
        { expiresAt },
      );
      return;
    }
    const current = epoch;
    asking = true;
    let token: string | undefined;
    try {
      token = await bounded(
        resolveToken(option, { reason: "refresh", attempt, expiresAt }),
        deps.stepTimeoutMs,
        deps.clock,
        "the token function",
      );
    } catch (error) {
      deps.log.warn("the token function failed; credentials not refreshed", {
        error: error instanceof Error ? error.message : String(error),
      });
      return;
    } finally {
      asking = false;
    }
    if (current !== epoch) return;
    if (token === undefined || token === "") {
      deps.log.warn("the token function gave no token; credentials not refreshed");
      return;
    }
    const id = deps.nextId();
    if (!deps.send({ type: "refresh", id, token })) return;
    inFlight = { id, attempt, expiresAt };
  }

  return {
    /** The server's `token_expiring`: refresh now, unless a refresh is already under way. */
    expiring(expiresAt: number): void {
      if (inFlight !== undefined || asking || !deps.serverRefreshes()) return;
      void send(0, expiresAt);
    },
    /** True when `message` answered the refresh in flight. */
    handleResponse(message: ResponseMessage): boolean {
      const current = inFlight;
      if (current === undefined || message.id !== current.id) return false;
      inFlight = undefined;
      if (message.ok) {
        deps.onRefreshed(message.result as RefreshResult);
        return true;
      }
      if (message.error.code !== "unauthorized") {
        deps.log.warn("the server could not refresh the credentials", { ...message.error });
        return true;
      }
      if (current.attempt === 0) {
        void send(1, current.expiresAt);
        return true;
      }
      deps.onRefused(message.error);
      return true;
    },
    connectionLost(): void {
      epoch += 1;
      inFlight = undefined;
    },
  };
}

export type Refresher = ReturnType<typeof createRefresher>;
