import { type BackoffPolicy, createSchedule, exponential } from "@lifeline/backoff";
import { type Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "./logger.js";

/**
 * Reconnect delays when the caller gives none: 50 ms doubling to 2 s with full jitter,
 * never giving up. Short, because a broker that cannot reach Redis is a node that cannot
 * deliver.
 */
export const defaultReconnect: BackoffPolicy = exponential({
  baseMs: 50,
  factor: 2,
  capMs: 2000,
  maxAttempts: Number.POSITIVE_INFINITY,
  jitter: "full",
});

/**
 * Reconnect delays through Sentinel when the caller gives none: 50 ms doubling to 500 ms.
 * Each attempt asks the Sentinels for the master, so a node finds the promoted replica
 * within half a second of the promotion rather than up to 2 s later, at the cost of a few
 * cheap Sentinel queries per second while the fail-over is under way.
 */
export const sentinelReconnect: BackoffPolicy = exponential({
  baseMs: 50,
  factor: 2,
  capMs: 500,
  maxAttempts: Number.POSITIVE_INFINITY,
  jitter: "full",
});

export interface ConnectionSource {
  readonly url?: string | undefined;
  readonly redis?: Redis | undefined;
  /**
   * ioredis options: with `sentinels` and `name` for Sentinel, or `host` and `port` for one
   * node of a cluster. Takes precedence over `url`.
   */
  readonly sentinel?: RedisOptions | undefined;
}

export interface ConnectionOptions {
  /** Per-command reply deadline; undefined waits as long as the socket lives. */
  readonly commandTimeoutMs?: number | undefined;
  /**
   * A PING every `intervalMs` while ready; no reply within `timeoutMs` drops the socket
   * and reconnects. Undefined sends none.
   */
  readonly ping?: { readonly intervalMs: number; readonly timeoutMs: number } | undefined;
  /** Delays between reconnect attempts; one that runs out leaves the connection down. */
  readonly reconnect: BackoffPolicy;
  readonly logger: Logger;
  /** Names the connection in logs and health details. */
  readonly role: string;
}

/**
 * Options that make a lost connection visible instead of hidden: nothing is queued while
 * disconnected (a command fails at once), a command in flight when the socket drops is
 * rejected rather than silently re-sent (re-sending an append could append it twice), and
 * subscriptions are restored by the broker itself so it can read what it missed.
 */
function overrides(options: ConnectionOptions): RedisOptions {
  return {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    maxRetriesPerRequest: 0,
    lazyConnect: false,
    // A master demoted to replica (Sentinel fail-over while it stayed up) answers writes
    // with READONLY: reconnect, which asks the Sentinels for the new master. The command is
    // not re-sent (an append could land twice); it fails as outcome unknown.
    reconnectOnError: (error) => error.message.startsWith("READONLY"),
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs }),
    retryStrategy: retryStrategy(options.reconnect),
  };
}

/** ioredis's retry strategy (attempt -> delay, null to give up) from a backoff policy. */
function retryStrategy(policy: BackoffPolicy): (attempt: number) => number | null {
  const schedule = createSchedule(policy);
  return (attempt) => {
    if (attempt === 1) schedule.reset();
    const delay = schedule.next();
    return delay === undefined ? null : delay;
  };
}

/**
 * The cluster counterpart of `overrides`, for the client ioredis keeps per node and for the
 * cluster as a whole. A command in flight when its node's socket drops is not sent again to
 * the node that takes the slot over (`retryDelayOnFailover: 0`): the append may have run on
 * the failed master. Redirections (MOVED, ASK) and TRYAGAIN/CLUSTERDOWN are still followed:
 * Redis refused those commands without running them. The slot table is refreshed every
 * `slotsRefreshMs`, which is how a promoted replica or a moved slot is found.
 */
function clusterOverrides(
  template: Cluster,
  options: ConnectionOptions,
  slotsRefreshMs: number,
): ClusterOptions {
  const { reconnectOnError: _demotedMasterAnswersMoved, ...node } = overrides(options);
  return {
    enableOfflineQueue: false,
    lazyConnect: false,
    retryDelayOnFailover: 0,
    slotsRefreshInterval: slotsRefreshMs,
    clusterRetryStrategy: retryStrategy(options.reconnect),
    redisOptions: { ...template.options.redisOptions, ...node },
  };
}

/** A tracked ioredis connection: status and last error for health reports. */
export interface TrackedConnection<Client extends Redis | Cluster = Redis> {
  readonly redis: Client;
  isReady(): boolean;
  /** `"<role> connection <status>: <last error>"`, for health details. */
  describe(): string;
  /** Called on every `ready`, the first one included. Returns the undo. */
  onReady(listener: () => void): () => void;
  /** Called whenever the connection goes up or down. Returns the undo. */
  onStatusChange(listener: () => void): () => void;
  /** Resolves on the first `ready`; rejects when the connection ends before. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export function openConnection(
  source: ConnectionSource,
  options: ConnectionOptions,
): TrackedConnection {
  const redisOptions = overrides(options);
  const redis =
    source.redis !== undefined
      ? source.redis.duplicate(redisOptions)
      : source.sentinel !== undefined
        ? new Redis({ ...source.sentinel, ...redisOptions })
        : new Redis(source.url ?? "redis://127.0.0.1:6379", redisOptions);
  return track(redis, options);
}

/**
 * A cluster client of its own, duplicated from `template` (its startup nodes and options),
 * tracked like a single connection: "ready" while ioredis has the slot table. Its PINGs
 * are the slot-table refreshes (see clusterOverrides); a lost master is noticed by the
 * sharded subscribers' connections (cluster/sharded-channels.ts), which are watched.
 */
export function openClusterConnection(
  template: Cluster,
  options: ConnectionOptions,
  slotsRefreshMs: number,
): TrackedConnection<Cluster> {
  const cluster = template.duplicate([], clusterOverrides(template, options, slotsRefreshMs));
  return track(cluster, { ...options, ping: undefined });
}

function track<Client extends Redis | Cluster>(
  redis: Client,
  options: ConnectionOptions,
): TrackedConnection<Client> {
  let lastError: string | undefined;
  let everReady = false;
  const readyListeners = new Set<() => void>();
  const statusListeners = new Set<() => void>();
  for (const event of ["ready", "close", "end", "reconnecting"]) {
    redis.on(event, () => {
      for (const listener of [...statusListeners]) listener();
    });
  }

  redis.on("error", (error: Error) => {
    lastError = error.message;
    options.logger.debug({ err: error, role: options.role }, "redis connection error");
  });
  redis.on("ready", () => {
    if (everReady) options.logger.info({ role: options.role }, "redis connection restored");
    everReady = true;
    lastError = undefined;
    for (const listener of [...readyListeners]) listener();
  });
  redis.on("close", () => {
    if (everReady)
      options.logger.warn({ role: options.role, err: lastError }, "redis connection lost");
  });
  const stopPing =
    options.ping === undefined || !(redis instanceof Redis)
      ? () => {}
      : watchPings(redis, options, options.ping, (reason) => {
          lastError = reason;
        });

  const firstReady = new Promise<void>((resolve, reject) => {
    if (redis.status === "ready") {
      resolve();
      return;
    }
    const onReady = () => {
      redis.off("end", onEnd);
      resolve();
    };
    const onEnd = () => {
      redis.off("ready", onReady);
      reject(
        new Error(
          `redis ${options.role} connection ended before it was ready: ${lastError ?? "closed"}`,
        ),
      );
    };
    redis.once("ready", onReady);
    redis.once("end", onEnd);
  });
  // Callers that never await ready() must not see an unhandled rejection.
  firstReady.catch(() => {});

  return {
    redis,
    isReady: () => redis.status === "ready",
    describe: () =>
      `redis ${options.role} connection ${redis.status}${lastError === undefined ? "" : `: ${lastError}`}`,
    onReady(listener) {
      readyListeners.add(listener);
      return () => {
        readyListeners.delete(listener);
      };
    },
    onStatusChange(listener) {
      statusListeners.add(listener);
      return () => {
        statusListeners.delete(listener);
      };
    },
    ready: () => firstReady,
    async close() {
      stopPing();
      readyListeners.clear();
      statusListeners.clear();
      // Only a live socket emits "end" after disconnect(); a connection waiting to
      // reconnect just has its timer cancelled.
      const live = ["connecting", "connect", "ready"].includes(redis.status);
      const ended = live
        ? new Promise<void>((resolve) => redis.once("end", () => resolve()))
        : undefined;
      redis.disconnect(false);
      await ended;
    },
  };
}

/**
 * A socket to a Redis that stopped answering without closing (a partition, a frozen host)
 * stays "ready" for ioredis until the kernel gives up, minutes later: commands time out one
 * by one but nothing reports the node unhealthy or reconnects. A PING on a timer notices
 * within `intervalMs + timeoutMs` and destroys the socket, which ioredis handles like any
 * lost connection: pending commands fail, status leaves "ready", it reconnects with backoff.
 * PING is allowed in subscriber mode, so the pub/sub connection is watched the same way.
 */
function watchPings(
  redis: Redis,
  options: ConnectionOptions,
  ping: { readonly intervalMs: number; readonly timeoutMs: number },
  onDead: (reason: string) => void,
): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pinging = false;

  function arm(): void {
    if (stopped || timer !== undefined || pinging) return;
    timer = setTimeout(() => {
      timer = undefined;
      void once();
    }, ping.intervalMs);
    timer.unref();
  }

  async function once(): Promise<void> {
    // Not ready: the next "ready" arms the timer again.
    if (stopped || redis.status !== "ready") return;
    pinging = true;
    const stream = redis.stream;
    const deadline = setTimeout(() => {
      const reason = `no reply to PING within ${ping.timeoutMs} ms`;
      onDead(reason);
      options.logger.warn({ role: options.role }, `redis connection dropped: ${reason}`);
      stream.destroy();
    }, ping.timeoutMs);
    deadline.unref();
    try {
      await redis.ping();
    } catch {
      // A failed PING means the connection is already going down; its events report that.
    } finally {
      clearTimeout(deadline);
      pinging = false;
    }
    arm();
  }

  redis.on("ready", arm);
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    redis.off("ready", arm);
  };
}
