import type {
  InboxAddress,
  SessionDirectory,
  SessionRecord,
  SessionTarget,
} from "@lifeline/protocol";
import type { Cluster, Redis } from "ioredis";
import type { TrackedConnection } from "./connection.js";
import { sessionKeys } from "./keys.js";
import type { Logger } from "./logger.js";
import { sessionScripts } from "./session-scripts.js";

export interface RedisSessionOptions {
  readonly keyPrefix: string;
  /** A live session not refreshed for this long counts as gone (its node died). */
  readonly ttlMs: number;
  /** How long a closed session still receives direct messages. */
  readonly lingerMs: number;
  readonly logger: Logger;
}

/** A record as stored: the session, and whether it closed. */
interface Stored {
  readonly connection_id: string;
  readonly client_id: string;
  readonly user: string;
  readonly role: string;
  readonly node: string;
  readonly connected_at: number;
  readonly closed?: true;
}

function encode(session: SessionRecord, closed: boolean): string {
  const stored: Stored = {
    connection_id: session.connectionId,
    client_id: session.clientId,
    user: session.user,
    role: session.role,
    node: session.node,
    connected_at: session.connectedAt,
    ...(closed ? { closed: true as const } : {}),
  };
  return JSON.stringify(stored);
}

function decode(json: unknown): Stored | undefined {
  if (typeof json !== "string") return undefined;
  try {
    const value = JSON.parse(json) as Stored;
    return typeof value.client_id === "string" && typeof value.user === "string"
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The session directory shared by every node on one Redis (see session-scripts.ts for
 * the layout). Each node refreshes its live sessions every third of `ttlMs`; a node that
 * dies stops, and its sessions stop being live `ttlMs` later at most.
 */
export function createRedisSessions(
  command: TrackedConnection<Redis | Cluster>,
  options: RedisSessionOptions,
): SessionDirectory & { close(): void } {
  const { ttlMs, lingerMs, keyPrefix, logger } = options;
  const local = new Map<string, SessionRecord>();
  let closed = false;

  async function touch(user: string, pairs: readonly string[]): Promise<void> {
    const keys = sessionKeys(keyPrefix).user(user);
    await sessionScripts.touch.run(
      command.redis,
      [keys.set, keys.info],
      [ttlMs, lingerMs, ...pairs],
    );
  }

  async function holder(clientId: string, connectionId: string, json: string, keepMs: number) {
    const key = sessionKeys(keyPrefix).client(clientId);
    await sessionScripts.holder.run(command.redis, [key], [connectionId, json, keepMs]);
  }

  async function refresh(): Promise<void> {
    if (closed || local.size === 0 || !command.isReady()) return;
    const byUser = new Map<string, string[]>();
    for (const session of local.values()) {
      const pairs = byUser.get(session.user) ?? [];
      pairs.push(session.connectionId, "");
      byUser.set(session.user, pairs);
    }
    const work: Promise<unknown>[] = [];
    for (const [user, pairs] of byUser) work.push(touch(user, pairs));
    for (const session of local.values()) {
      work.push(holder(session.clientId, session.connectionId, "", ttlMs + lingerMs));
    }
    const failed = (await Promise.allSettled(work)).find((r) => r.status === "rejected");
    if (failed) logger.warn({ err: failed.reason }, "redis sessions: refresh failed");
  }

  const timer = setInterval(() => void refresh(), Math.max(1, Math.floor(ttlMs / 3)));
  timer.unref();

  async function list(user: string, mode: "live" | "all"): Promise<Stored[]> {
    const keys = sessionKeys(keyPrefix).user(user);
    const reply = (await sessionScripts.list.run(
      command.redis,
      [keys.set, keys.info],
      [lingerMs, mode],
    )) as unknown[];
    const records: Stored[] = [];
    for (const json of reply) {
      const stored = decode(json);
      if (stored !== undefined && (mode === "all" || stored.closed !== true)) records.push(stored);
    }
    return records;
  }

  return {
    async add(session) {
      local.set(session.connectionId, session);
      const holderJson = JSON.stringify({
        user: session.user,
        connection_id: session.connectionId,
      });
      await Promise.all([
        touch(session.user, [session.connectionId, encode(session, false)]),
        holder(session.clientId, session.connectionId, holderJson, ttlMs + lingerMs),
      ]);
    },
    async remove(session) {
      if (!local.delete(session.connectionId)) return;
      const keys = sessionKeys(keyPrefix).user(session.user);
      await Promise.all([
        sessionScripts.close.run(
          command.redis,
          [keys.set, keys.info],
          [lingerMs, session.connectionId, encode(session, true)],
        ),
        holder(session.clientId, session.connectionId, "", lingerMs),
      ]);
    },
    async live(user) {
      return (await list(user, "live")).map((stored) => ({
        connectionId: stored.connection_id,
        clientId: stored.client_id,
        user: stored.user,
        role: stored.role,
        node: stored.node,
        connectedAt: stored.connected_at,
      }));
    },
    async recipients(target: SessionTarget): Promise<InboxAddress[]> {
      if ("clientId" in target) {
        const json = await command.redis.get(sessionKeys(keyPrefix).client(target.clientId));
        const holder = json === null ? undefined : (JSON.parse(json) as { user?: unknown });
        return typeof holder?.user === "string"
          ? [{ user: holder.user, clientId: target.clientId }]
          : [];
      }
      const clients = new Set((await list(target.user, "all")).map((s) => s.client_id));
      return [...clients].map((clientId) => ({ user: target.user, clientId }));
    },
    close() {
      closed = true;
      clearInterval(timer);
      local.clear();
    },
  };
}
