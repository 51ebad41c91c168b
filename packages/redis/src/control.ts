import type { ControlChannel, ControlCommand } from "@lifeline/protocol";
import type { Logger } from "./logger.js";

/** Bounds what one command may carry: a target, a code and a 123-byte reason. */
const MAX_COMMAND_CHARS = 4096;

function parseCommand(payload: string): ControlCommand | undefined {
  if (payload.length > MAX_COMMAND_CHARS) return undefined;
  try {
    const value = JSON.parse(payload) as Partial<ControlCommand>;
    const target = value.target as Record<string, unknown> | undefined;
    const targetOk =
      typeof target === "object" &&
      target !== null &&
      (typeof target.clientId === "string" || typeof target.user === "string");
    if (
      value.type !== "disconnect" ||
      !targetOk ||
      typeof value.code !== "number" ||
      typeof value.reason !== "string"
    ) {
      return undefined;
    }
    return value as ControlCommand;
  } catch {
    return undefined;
  }
}

/** How the control channel reaches Redis: the broker's pub/sub side and command connection. */
export interface ControlTransport {
  /** PUBLISH (SPUBLISH on a cluster) of one command. */
  publish(payload: string): Promise<unknown>;
  /** Subscribes the channel (SSUBSCRIBE on a cluster); the broker keeps it subscribed. */
  listen(): Promise<void>;
}

/**
 * Control commands over Redis pub/sub: one PUBLISH reaches every node subscribed, the
 * sender included. At most once per node: a node whose subscriber connection is down when
 * a command is sent does not get it, which is why a revoked user must also be refused by
 * `authenticate`.
 */
export function createRedisControl(
  transport: ControlTransport,
  channel: string,
  logger: Logger,
): ControlChannel & { onMessage(channel: string, payload: string): boolean; resubscribe(): void } {
  const listeners = new Set<(command: ControlCommand) => void>();
  let wanted = false;
  let listening = false;

  const subscribe = () => {
    if (listening) return;
    listening = true;
    transport.listen().catch((error: unknown) => {
      listening = false;
      logger.warn({ err: error }, "redis control: subscribe failed");
    });
  };

  return {
    async publish(message) {
      await transport.publish(JSON.stringify(message));
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!wanted) {
        wanted = true;
        subscribe();
      }
      return () => {
        listeners.delete(listener);
      };
    },
    onMessage(from, payload) {
      if (from !== channel) return false;
      const parsed = parseCommand(payload);
      if (parsed === undefined) {
        logger.warn({ channel }, "redis control: ignored a malformed command");
        return true;
      }
      for (const listener of [...listeners]) listener(parsed);
      return true;
    },
    /** Once Redis is back: subscribes again if an earlier attempt failed. */
    resubscribe() {
      if (wanted) subscribe();
    },
  };
}
