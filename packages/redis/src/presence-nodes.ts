import type { Cluster, Redis } from "ioredis";
import type { TrackedConnection } from "./connection.js";
import { presenceNodeKeys } from "./keys.js";
import type { Logger } from "./logger.js";

export interface NodeLivenessOptions {
  readonly command: TrackedConnection<Redis | Cluster>;
  readonly keyPrefix: string;
  readonly node: string;
  /** A dead node's members leave within this many milliseconds of its death. */
  readonly nodeTimeoutMs: number;
  readonly logger: Logger;
  /** Lets go of everything `deadNode` held on `topic` (the REAP script). */
  readonly reapTopic: (deadNode: string, topic: string) => Promise<void>;
  /**
   * This node's heartbeat was gone when it refreshed it (Redis lost it, or this node was
   * unreachable long enough for a survivor to reap it): what it holds must be held again.
   */
  readonly onHeartbeatLost: () => void;
}

export interface NodeLiveness {
  /** Starts heartbeating and sweeping; idempotent. */
  start(): void;
  /** Stops both; the heartbeat then expires and survivors reap this node's members. */
  stop(): void;
  /** Records that this node holds members of `topic`, so a survivor knows what to reap. */
  noteTopic(topic: string): Promise<unknown>;
  /** This node holds no member of `topic` any more. */
  forgetTopic(topic: string): Promise<unknown>;
}

/**
 * Node liveness for presence (PROTOCOL.md, "Presence"): each node refreshes a heartbeat key
 * whose TTL is 60% of `nodeTimeoutMs`, six times per `nodeTimeoutMs` (so three refreshes may
 * be late before a live node looks dead); every node sweeps the registry each 30% of it and
 * reaps the nodes whose heartbeat expired. A node killed just after a refresh is found dead
 * at most 60% + 30% of the bound later, which leaves a tenth of it for the reap itself: its
 * members leave within `nodeTimeoutMs`, and no live node's do.
 */
export function createNodeLiveness(options: NodeLivenessOptions): NodeLiveness {
  const { command, node, logger, nodeTimeoutMs } = options;
  const keys = presenceNodeKeys(options.keyPrefix, node);
  const ttlMs = Math.max(1, Math.round(nodeTimeoutMs * 0.6));
  const refreshMs = Math.max(1, Math.round(nodeTimeoutMs / 6));
  const sweepMs = Math.max(1, Math.round(nodeTimeoutMs * 0.3));
  let refreshTimer: ReturnType<typeof setInterval> | undefined;
  let sweepTimer: ReturnType<typeof setInterval> | undefined;
  let sweeping = false;

  async function refresh(): Promise<void> {
    if (!command.isReady()) return;
    const kept = await command.redis.set(keys.heartbeat, "1", "PX", ttlMs, "XX");
    if (kept !== null) return;
    await command.redis.multi().set(keys.heartbeat, "1", "PX", ttlMs).sadd(keys.nodes, node).exec();
    options.onHeartbeatLost();
  }

  async function sweep(): Promise<void> {
    if (sweeping || !command.isReady()) return;
    sweeping = true;
    try {
      const others = (await command.redis.smembers(keys.nodes)).filter((id) => id !== node);
      if (others.length === 0) return;
      const pipeline = command.redis.pipeline();
      for (const id of others) pipeline.exists(presenceNodeKeys(options.keyPrefix, id).heartbeat);
      const alive = (await pipeline.exec()) ?? [];
      for (const [index, id] of others.entries()) {
        if (alive[index]?.[1] === 1) continue;
        await reapNode(id);
      }
    } finally {
      sweeping = false;
    }
  }

  async function reapNode(dead: string): Promise<void> {
    const deadKeys = presenceNodeKeys(options.keyPrefix, dead);
    const topics = await command.redis.smembers(deadKeys.topics);
    for (const topic of topics) await options.reapTopic(dead, topic);
    await command.redis.multi().del(deadKeys.topics).srem(keys.nodes, dead).exec();
    logger.info({ node: dead, topics: topics.length }, "redis presence: reaped a dead node");
  }

  const report = (what: string) => (error: unknown) =>
    logger.warn({ err: error }, `redis presence: ${what} failed`);

  return {
    start() {
      if (refreshTimer !== undefined) return;
      refresh().catch(report("heartbeat"));
      refreshTimer = setInterval(() => refresh().catch(report("heartbeat")), refreshMs);
      sweepTimer = setInterval(() => sweep().catch(report("sweep")), sweepMs);
      refreshTimer.unref();
      sweepTimer.unref();
    },
    stop() {
      clearInterval(refreshTimer);
      clearInterval(sweepTimer);
      refreshTimer = undefined;
      sweepTimer = undefined;
    },
    noteTopic: (topic) => command.redis.sadd(keys.topics, topic),
    forgetTopic: (topic) => command.redis.srem(keys.topics, topic),
  };
}
