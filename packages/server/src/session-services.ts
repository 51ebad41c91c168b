import { randomBytes } from "node:crypto";
import type { SessionRecord, SessionTarget } from "./broker.js";
import type { Connection } from "./connection.js";
import type { ServerContext } from "./context.js";
import type { Credentials } from "./credentials.js";
import { LifelineServerError, ServerErrorCode } from "./errors.js";
import { inboxTopic } from "./inbox.js";
import {
  checkTarget,
  createLocalControl,
  type DisconnectOptions,
  disconnectCommand,
  obeyControl,
} from "./session-control.js";
import { createLocalSessionDirectory } from "./session-directory.js";

/** Options of `sendTo`. */
export interface SendToOptions {
  /**
   * Makes the send idempotent: a second `sendTo` with the same id to the same client within
   * the broker's dedupe window is not delivered again (retry after an `overloaded` failure
   * without doubling the message).
   * @default undefined (every call delivers)
   */
  readonly id?: string;
}

/**
 * Direct messages, session control and the session directory (PROTOCOL.md, "Direct
 * messages" and "Session control"), on the broker's shared directory and control channel
 * when it has them, on this node's own otherwise.
 */
export function createSessionServices<Principal>(
  ctx: ServerContext<Principal>,
  credentials: Credentials,
) {
  const { opts, logger, broker, registry } = ctx;
  const node = `n-${randomBytes(6).toString("hex")}`;
  const directory =
    broker.sessions ??
    createLocalSessionDirectory({ clock: opts.clock, lingerMs: opts.sessions.lingerMs });
  const control = broker.control ?? createLocalControl();
  const stopObeying = obeyControl(control, registry, logger);
  const records = new WeakMap<Connection, SessionRecord>();

  const recordOf = (connection: Connection): SessionRecord => ({
    connectionId: connection.id,
    clientId: connection.clientId,
    user: connection.identity,
    role: connection.role,
    node,
    connectedAt: connection.connectedAt,
  });

  const reportFailure = (action: string, connection: Connection) => (error: unknown) =>
    logger.warn(
      { err: error, connection_id: connection.id, client_id: connection.clientId },
      `session directory: ${action} failed`,
    );

  function ensureOpen(): void {
    if (ctx.isClosing()) {
      throw new LifelineServerError(ServerErrorCode.Closed, "the server is closed");
    }
  }

  return {
    opened(connection: Connection): void {
      credentials.arm(connection);
      const record = recordOf(connection);
      records.set(connection, record);
      directory.add(record).catch(reportFailure("add", connection));
    },
    closed(connection: Connection): void {
      const record = records.get(connection);
      if (record === undefined) return;
      records.delete(connection);
      directory.remove(record).catch(reportFailure("remove", connection));
    },
    async sendTo(target: SessionTarget, data: unknown, options: SendToOptions = {}) {
      ensureOpen();
      const checked = checkTarget(target);
      const check = opts.contract?.checkDirectData(data);
      if (check !== undefined && !check.ok) {
        throw new LifelineServerError(ServerErrorCode.InvalidData, check.issue.message);
      }
      const recipients = await directory.recipients(checked);
      const dedupeKey = options.id === undefined ? undefined : `direct:${options.id}`;
      await Promise.all(
        recipients.map((to) =>
          broker.append(inboxTopic(to.user, to.clientId), data, dedupeKey ? { dedupeKey } : {}),
        ),
      );
      return recipients.length;
    },
    async disconnect(target: SessionTarget, options?: DisconnectOptions): Promise<void> {
      ensureOpen();
      await control.publish(disconnectCommand(target, options));
    },
    async sessions(target: { readonly user: string }): Promise<SessionRecord[]> {
      const checked = checkTarget(target);
      if (!("user" in checked)) {
        throw new LifelineServerError(ServerErrorCode.InvalidOptions, "sessions expects { user }");
      }
      return directory.live(checked.user);
    },
    stop: stopObeying,
  };
}
