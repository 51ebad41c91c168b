import { CloseCode, ErrorCode, isReservedTopic, type RefreshMessage } from "@lifeline/protocol";
import type { Connection } from "./connection.js";
import type { ServerContext } from "./context.js";
import { AuthError } from "./errors.js";
import { isAllowed } from "./topic-access.js";

/** A refresh answered: ok with its result, or refused with a code and a message. */
type RefreshAnswer =
  | { readonly ok: true; readonly result: { expires_at?: number; forbidden: string[] } }
  | { readonly ok: false; readonly code: string; readonly message: string };

class RefreshTimeout extends Error {}

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Credentials in band (PROTOCOL.md, "Credentials in band"): the expiry of each
 * connection's credentials, `token_expiring` ahead of it, the 4401 close at it, and the
 * `refresh` that replaces them, after which every subscription is authorised again.
 */
export function createCredentials<Principal>(ctx: ServerContext<Principal>) {
  const { opts, logger, topics } = ctx;
  const { clock, credentials } = opts;

  /** Starts the expiry of `connection`'s current principal (replacing an earlier one). */
  function arm(connection: Connection): void {
    connection.stopExpiry?.();
    connection.stopExpiry = undefined;
    const asked = credentials.expiresAt?.(connection.principal as Principal);
    const at = asked !== undefined && Number.isFinite(asked) ? Math.floor(asked) : undefined;
    connection.expiresAt = at;
    if (at === undefined) return;
    // Announced only by a server that takes refresh: without it there is nothing to do.
    const stopNotice = credentials.refresh
      ? runAt(at - credentials.noticeMs, () => {
          connection.send({ type: "token_expiring", expires_at: at });
        })
      : () => {};
    const stopExpiry = runAt(at, () => {
      logger.info(
        { connection_id: connection.id, client_id: connection.clientId },
        "credentials expired unrefreshed: closing",
      );
      connection.close(CloseCode.Unauthenticated, "credentials expired");
    });
    connection.stopExpiry = () => {
      stopNotice();
      stopExpiry();
    };
  }

  /**
   * Runs `run` at `time` on the clock. Timers longer than 2^31 - 1 ms fire at once in
   * Node, so a far time is reached in steps.
   */
  function runAt(time: number, run: () => void): () => void {
    let handle: unknown;
    const step = (): void => {
      const left = time - clock.now();
      if (left <= 0) {
        run();
        return;
      }
      handle = clock.setTimeout(step, Math.min(left, MAX_TIMER_MS));
    };
    handle = clock.setTimeout(step, Math.max(0, Math.min(time - clock.now(), MAX_TIMER_MS)));
    return () => clock.clearTimeout(handle);
  }

  async function check(connection: Connection, token: string): Promise<Principal> {
    const hook = credentials.refresh;
    if (!hook) throw new AuthError("this server does not take refresh");
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(new RefreshTimeout()), opts.limits.handshakeTimeoutMs);
    });
    try {
      const info = {
        principal: connection.principal as Principal,
        clientId: connection.clientId,
        role: connection.role,
        connectionId: connection.id,
        remoteAddress: connection.remoteAddress,
      };
      return await Promise.race([Promise.resolve().then(() => hook(token, info)), timeout]);
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /** Subscriptions the new principal may no longer hold, dropped after an `unsubscribed`. */
  async function reauthorise(connection: Connection, id: string): Promise<string[]> {
    const forbidden: string[] = [];
    for (const topic of [...connection.subscriptions]) {
      if (isReservedTopic(topic)) continue;
      let allowed = false;
      try {
        allowed = await isAllowed(opts, connection, topic, "subscribe");
      } catch (error) {
        // A hook that fails cannot vouch for the subscription: it is dropped, not kept.
        logger.error({ err: error, connection_id: connection.id, topic }, "authorize failed");
      }
      if (allowed || connection.closing) continue;
      topics.unsubscribe(connection, topic);
      connection.send({ type: "unsubscribed", id, topic });
      forbidden.push(topic);
    }
    return forbidden;
  }

  async function refresh(connection: Connection, message: RefreshMessage): Promise<RefreshAnswer> {
    let principal: Principal;
    try {
      principal = await check(connection, message.token);
    } catch (error) {
      if (error instanceof AuthError) {
        return { ok: false, code: ErrorCode.Unauthorized, message: error.message.slice(0, 1024) };
      }
      if (error instanceof RefreshTimeout) {
        const text = "the credentials could not be checked in time; retry";
        return { ok: false, code: ErrorCode.Timeout, message: text };
      }
      // The hook's error may quote the token it was given (PROTOCOL.md: never logged).
      logger.error(
        { err: redacted(error, message.token), connection_id: connection.id },
        "refresh hook failed",
      );
      return { ok: false, code: ErrorCode.Internal, message: "internal server error" };
    }
    // Closed while the hook ran: arming timers now would keep it alive until they fire.
    if (connection.closing || !connection.transport.isOpen(connection)) {
      return { ok: false, code: ErrorCode.Unauthorized, message: "the connection closed" };
    }
    if (opts.identify(principal) !== connection.identity) {
      logger.warn(
        { connection_id: connection.id, client_id: connection.clientId },
        "refresh refused: the new credentials belong to another identity",
      );
      const text = "a refresh must keep the connection's identity; reconnect to change user";
      return { ok: false, code: ErrorCode.Unauthorized, message: text };
    }
    connection.principal = principal;
    arm(connection);
    const forbidden = await reauthorise(connection, message.id);
    logger.debug(
      { connection_id: connection.id, client_id: connection.clientId, dropped: forbidden.length },
      "credentials refreshed",
    );
    const expiresAt = connection.expiresAt;
    return {
      ok: true,
      result:
        expiresAt === undefined ? { forbidden } : { expires_at: Math.floor(expiresAt), forbidden },
    };
  }

  return { arm, refresh };
}

export type Credentials = ReturnType<typeof createCredentials>;

/** An error's loggable parts with every occurrence of `secret` replaced. */
function redacted(error: unknown, secret: string): Record<string, string> {
  const scrub = (text: string) => text.replaceAll(secret, "[redacted]");
  if (!(error instanceof Error)) return { message: scrub(String(error)) };
  return {
    type: error.name,
    message: scrub(error.message),
    ...(error.stack === undefined ? {} : { stack: scrub(error.stack) }),
  };
}
