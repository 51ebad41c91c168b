import { CloseCode } from "@lifeline/protocol";
import type { ControlChannel, ControlCommand, SessionTarget } from "./broker.js";
import type { Connection } from "./connection.js";
import { LifelineServerError, ServerErrorCode } from "./errors.js";
import type { Log } from "./logging.js";
import type { Registry } from "./registry.js";

/** How `disconnect()` closes the sessions it finds. */
export interface DisconnectOptions {
  /**
   * The close code: 4403 (forbidden) for a user whose access was revoked, which clients
   * treat as fatal and do not reconnect after; 4401 for credentials that are no longer
   * valid; 1012 or 1013 to make them reconnect (elsewhere, later). One of 1000, 1001, 1008,
   * 1011, 1012, 1013 or 3000-4999.
   * @default 4403
   */
  readonly code?: number;
  /**
   * The close reason the client sees, cut to 123 UTF-8 bytes.
   * @default "disconnected by the server"
   */
  readonly reason?: string;
}

const sendableCodes: ReadonlySet<number> = new Set([1000, 1001, 1008, 1011, 1012, 1013]);

/** A control command from the application's arguments; throws for a code a server may not send. */
export function disconnectCommand(
  target: SessionTarget,
  options: DisconnectOptions = {},
): ControlCommand {
  const code = options.code ?? CloseCode.Forbidden;
  if (!(Number.isInteger(code) && (sendableCodes.has(code) || (code >= 3000 && code <= 4999)))) {
    throw new LifelineServerError(
      ServerErrorCode.InvalidOptions,
      `disconnect expects "code" to be 1000, 1001, 1008, 1011, 1012, 1013 or 3000-4999, got ${String(code)}`,
    );
  }
  return {
    type: "disconnect",
    target: checkTarget(target),
    code,
    reason: options.reason ?? "disconnected by the server",
  };
}

/** `{ clientId }` or `{ user }` with a non-empty string, nothing else. */
export function checkTarget(target: SessionTarget): SessionTarget {
  const record = (target ?? {}) as Record<string, unknown>;
  const clientId = record.clientId;
  const user = record.user;
  if (typeof clientId === "string" && clientId !== "" && user === undefined) return { clientId };
  if (typeof user === "string" && user !== "" && clientId === undefined) return { user };
  throw new LifelineServerError(
    ServerErrorCode.InvalidOptions,
    "expected a target { clientId } or { user } with a non-empty string, got " +
      JSON.stringify(Object.keys(record)),
  );
}

/** This node's connections a target names. */
export function connectionsOf(registry: Registry, target: SessionTarget): Connection[] {
  if ("clientId" in target) {
    const connection = registry.byClient(target.clientId);
    return connection === undefined ? [] : [connection];
  }
  return [...registry.values()].filter((connection) => connection.identity === target.user);
}

/**
 * Carries out control commands on this node's connections, whichever node sent them
 * (PROTOCOL.md, "Session control"). Returns the undo.
 */
export function obeyControl(channel: ControlChannel, registry: Registry, logger: Log): () => void {
  return channel.subscribe((command) => {
    if (command.type !== "disconnect") return;
    for (const connection of connectionsOf(registry, command.target)) {
      if (connection.closing) continue;
      logger.info(
        { connection_id: connection.id, client_id: connection.clientId, code: command.code },
        "disconnecting a session on request",
      );
      connection.close(command.code as CloseCode, command.reason);
    }
  });
}

/** Commands of a server on its own: they reach this node's connections only. */
export function createLocalControl(): ControlChannel {
  const listeners = new Set<(command: ControlCommand) => void>();
  return {
    async publish(command) {
      for (const listener of [...listeners]) listener(command);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
