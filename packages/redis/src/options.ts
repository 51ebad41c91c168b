import type { BackoffPolicy } from "@lifeline/backoff";
import type { HistoryOptions } from "@lifeline/protocol";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import { defaultReconnect, sentinelReconnect } from "./connection.js";
import { RedisBrokerError, RedisBrokerErrorCode } from "./errors.js";
import { type Logger, silentLogger } from "./logger.js";

/** Options of `createRedisBroker`: where Redis is, retention, and limits. */
export interface RedisBrokerOptions {
  /**
   * Redis URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS).
   * Ignored when `redis` is given.
   * @default "redis://127.0.0.1:6379"
   */
  readonly url?: string;
  /**
   * An ioredis client used as a template: the broker opens its own two connections
   * (commands, and pub/sub) with `redis.duplicate()`, so it never changes or closes yours.
   */
  readonly redis?: Redis;
  /**
   * Reach Redis through Sentinel: ioredis options with `sentinels` (the Sentinels'
   * addresses) and `name` (the master group they monitor), plus anything else ioredis takes
   * (`password`, `sentinelPassword`, `tls`...). Each of the broker's connections asks the
   * Sentinels for the current master, and after a fail-over connects to the promoted
   * replica by itself. Takes precedence over `url`; a `redis` client configured with
   * `sentinels` works too. See `waitForReplication` for what a fail-over can lose.
   */
  readonly sentinel?: SentinelOptions;
  /**
   * Run on a Redis Cluster (Redis 7 or later): an ioredis `Cluster` used as a template, its
   * startup nodes and options (`redisOptions` for passwords, TLS...) duplicated, so the
   * broker never changes or closes yours. All the keys of a topic share its hash tag
   * (`{<topic>}`) and so one slot, so every script runs on the master serving it; live
   * entries travel by sharded pub/sub (SPUBLISH, with one SSUBSCRIBE connection per master
   * serving a subscribed topic), which stays on that master instead of crossing the whole
   * cluster. After a fail-over the node finds the promoted replica from the slot table
   * (refreshed every `pingIntervalMs`) and subscribes there. Takes precedence over
   * `sentinel` and `url`; `keyPrefix` may not contain `{` or `}`. See `waitForReplication`
   * for what a fail-over can lose.
   */
  readonly cluster?: Cluster;
  /**
   * Acknowledge an append only once `replicas` replicas have it (`WAIT replicas timeoutMs`
   * after the append script), so a fail-over to a replica never loses an acknowledged
   * append. An append not confirmed within `timeoutMs` fails with `redis_outcome_unknown`
   * (it is on the master and may reach the replica later; retrying with the same dedupe key
   * is safe); so does one made while the master has fewer than `replicas` replicas online,
   * at once and without a WAIT. Costs a WAIT round trip and the replication delay; one WAIT
   * serves every append answered before it. `false` acknowledges as soon as the master has
   * the append; with `sentinel` or `cluster` a fail-over then starts a new epoch for every
   * topic of the failed master (see the README, "Deployment").
   * @default false
   */
  readonly waitForReplication?:
    | false
    | {
        /** Replicas that must have the append. @default 1 */
        readonly replicas?: number;
        /** How long to wait for them, in milliseconds. @default 1000 */
        readonly timeoutMs?: number;
      };
  /**
   * Prefix of every key and channel the broker uses; nodes sharing a prefix share topics.
   * @default "lifeline:"
   */
  readonly keyPrefix?: string;
  /**
   * Per-topic retention in the Redis stream, and the keys a conflated topic's
   * latest-per-key hash keeps.
   * @default { maxMessages: 1000, maxAgeMs: 300000, maxConflatedKeys: 10000 }
   */
  readonly history?: HistoryOptions;
  /**
   * How long an append's `dedupeKey` is remembered, in milliseconds. A retried publish
   * with the same key inside the window is answered with the first result.
   * @default 300000
   */
  readonly dedupeWindowMs?: number;
  /**
   * How long a command may wait for Redis's reply before it fails, in milliseconds.
   * A timed-out append is reported as outcome unknown (retry with the same dedupe key).
   * @default 5000
   */
  readonly commandTimeoutMs?: number;
  /**
   * Interval between PINGs on each of the broker's two connections, in milliseconds, to
   * notice a Redis that stopped answering without closing the connection (a partition):
   * the node then reports itself unhealthy and reconnects. 0 sends no PING, leaving such a
   * connection to the operating system's TCP timeouts (minutes).
   * @default 1000
   */
  readonly pingIntervalMs?: number;
  /**
   * How long a PING may go unanswered before the connection is dropped and reopened, in
   * milliseconds. Lost-Redis detection takes at most `pingIntervalMs + pingTimeoutMs`.
   * @default 2000
   */
  readonly pingTimeoutMs?: number;
  /**
   * Delays between reconnect attempts: a policy from `@lifeline/backoff`, such as
   * `exponential({ baseMs: 100, capMs: 5000, maxAttempts: Infinity })`. A policy whose
   * attempts run out leaves the broker disconnected and unhealthy.
   * @default exponential from 50 ms to 2 s with full jitter, never giving up; to 500 ms
   * through Sentinel, so a node reaches a promoted replica soon after the promotion
   */
  readonly reconnect?: BackoffPolicy;
  /**
   * Most appends of one topic sent to Redis in one script call. While two script calls of
   * a topic are in flight, the node's next appends to it wait and then go out together, as
   * one call and one pub/sub message; a lone append is sent at once. 1 sends every append as its own script call as soon as it is made
   * (pipelined, so many can be in flight), which is how the broker worked before batching.
   * @default 256
   */
  readonly maxAppendBatch?: number;
  /** Presence shared by the nodes (PROTOCOL.md, "Presence"). */
  readonly presence?: RedisPresenceOptions;
  /** The session directory behind `server.sendTo` and `server.sessions` (PROTOCOL.md). */
  readonly sessions?: {
    /**
     * A live session whose node stopped refreshing it (the node died) stops counting as
     * live this long after its last refresh, in milliseconds; nodes refresh every third of it.
     * @default 30000
     */
    readonly ttlMs?: number;
    /**
     * How long a closed session still receives direct messages in its inbox, in
     * milliseconds: a client that reconnects within it finds them there. Give every node
     * the same value.
     * @default history.maxAgeMs (300000)
     */
    readonly lingerMs?: number;
  };
  /** A pino logger or anything with the same four methods. @default silent */
  readonly logger?: Logger;
}

/** Presence shared by the nodes through Redis (PROTOCOL.md, "Presence"). */
export interface RedisPresenceOptions {
  /**
   * How soon the members held by a node that died (killed, or cut off from Redis) leave,
   * in milliseconds: each node refreshes a heartbeat six times per bound, and the others
   * reap a node whose heartbeat expired. A node closed with `close()` is treated the same,
   * so its clients that reconnect to another node within the bound never leave.
   * @default 30000
   */
  readonly nodeTimeoutMs?: number;
}

/** ioredis options naming the Sentinels and the master group they monitor. */
export type SentinelOptions = RedisOptions & {
  readonly sentinels: NonNullable<RedisOptions["sentinels"]>;
  readonly name: string;
};

export interface ResolvedRedisBrokerOptions {
  readonly url: string | undefined;
  readonly redis: Redis | undefined;
  readonly sentinel: SentinelOptions | undefined;
  readonly cluster: Cluster | undefined;
  /** Undefined acknowledges appends without waiting for replicas. */
  readonly waitForReplication:
    | { readonly replicas: number; readonly timeoutMs: number }
    | undefined;
  /**
   * A fail-over (the master's replication id changed) starts a new epoch for each topic:
   * on with Sentinel or a cluster unless appends wait for replication.
   */
  readonly epochPerMaster: boolean;
  readonly keyPrefix: string;
  readonly maxMessages: number;
  readonly maxAgeMs: number;
  readonly maxConflatedKeys: number;
  readonly dedupeWindowMs: number;
  readonly commandTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly reconnect: BackoffPolicy;
  readonly maxAppendBatch: number;
  readonly presenceNodeTimeoutMs: number;
  readonly sessionTtlMs: number;
  readonly sessionLingerMs: number;
  readonly logger: Logger;
}

/** The defaults of `RedisBrokerOptions`, for reference. */
export const defaults = {
  keyPrefix: "lifeline:",
  maxMessages: 1000,
  maxAgeMs: 300_000,
  maxConflatedKeys: 10_000,
  dedupeWindowMs: 300_000,
  commandTimeoutMs: 5000,
  pingIntervalMs: 1000,
  pingTimeoutMs: 2000,
  replicas: 1,
  replicationTimeoutMs: 1000,
  maxAppendBatch: 256,
  presenceNodeTimeoutMs: 30_000,
  sessionTtlMs: 30_000,
} as const;

function positiveInt(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
}

export function resolveOptions(options: RedisBrokerOptions): ResolvedRedisBrokerOptions {
  const wait = options.waitForReplication;
  const waitForReplication =
    wait === undefined || wait === false
      ? undefined
      : {
          replicas: positiveInt(wait.replicas, defaults.replicas),
          timeoutMs: positiveInt(wait.timeoutMs, defaults.replicationTimeoutMs),
        };
  const sentinels = options.sentinel?.sentinels ?? options.redis?.options.sentinels;
  const keyPrefix = options.keyPrefix ?? defaults.keyPrefix;
  if (options.cluster !== undefined && /[{}]/.test(keyPrefix)) {
    // A brace in the prefix would become (part of) every key's hash tag instead of the topic.
    throw new RedisBrokerError(
      RedisBrokerErrorCode.InvalidOptions,
      `keyPrefix may not contain "{" or "}" on a cluster (the topic is the hash tag), got "${keyPrefix}"`,
    );
  }
  const replicated = options.cluster !== undefined || (sentinels?.length ?? 0) > 0;
  return {
    url: options.url,
    redis: options.redis,
    sentinel: options.sentinel,
    cluster: options.cluster,
    waitForReplication,
    epochPerMaster: waitForReplication === undefined && replicated,
    keyPrefix,
    maxMessages: positiveInt(options.history?.maxMessages, defaults.maxMessages),
    maxAgeMs: positiveInt(options.history?.maxAgeMs, defaults.maxAgeMs),
    maxConflatedKeys: positiveInt(options.history?.maxConflatedKeys, defaults.maxConflatedKeys),
    dedupeWindowMs: positiveInt(options.dedupeWindowMs, defaults.dedupeWindowMs),
    commandTimeoutMs: positiveInt(options.commandTimeoutMs, defaults.commandTimeoutMs),
    pingIntervalMs:
      options.pingIntervalMs === 0
        ? 0
        : positiveInt(options.pingIntervalMs, defaults.pingIntervalMs),
    pingTimeoutMs: positiveInt(options.pingTimeoutMs, defaults.pingTimeoutMs),
    reconnect: options.reconnect ?? (sentinels?.length ? sentinelReconnect : defaultReconnect),
    maxAppendBatch: positiveInt(options.maxAppendBatch, defaults.maxAppendBatch),
    presenceNodeTimeoutMs: positiveInt(
      options.presence?.nodeTimeoutMs,
      defaults.presenceNodeTimeoutMs,
    ),
    sessionTtlMs: positiveInt(options.sessions?.ttlMs, defaults.sessionTtlMs),
    sessionLingerMs:
      options.sessions?.lingerMs === 0
        ? 0
        : positiveInt(
            options.sessions?.lingerMs,
            positiveInt(options.history?.maxAgeMs, defaults.maxAgeMs),
          ),
    logger: options.logger ?? silentLogger,
  };
}
