import { randomBytes } from "node:crypto";
import type {
  AppendOptions,
  AppendResult,
  Broker,
  BrokerHealth,
  EntryListener,
  HistoryRead,
  LatestQuery,
  LatestRead,
  LogEntry,
  TopicHead,
} from "@lifeline/protocol";
import { type Cluster, Redis } from "ioredis";
import { createAppendBatcher } from "./append-batcher.js";
import { createShardedChannels } from "./cluster/sharded-channels.js";
import { decodeLatest, decodeLive, decodeStream, encodeData, type StreamItem } from "./codec.js";
import { openClusterConnection, openConnection, type TrackedConnection } from "./connection.js";
import { createRedisControl } from "./control.js";
import { RedisBrokerError, RedisBrokerErrorCode } from "./errors.js";
import { controlChannel, topicKeys } from "./keys.js";
import { createPlainChannels, type LiveChannelEvents, type LiveChannels } from "./live-channels.js";
import { scripts } from "./offsets.js";
import { type RedisBrokerOptions, resolveOptions } from "./options.js";
import { createRedisPresence } from "./redis-presence.js";
import { sameWriter, writerOf } from "./replication.js";
import { createReplicationBarrier, type ReplicationBarrier } from "./replication-barrier.js";
import type { TopicRead } from "./sequencer.js";
import { createRedisSessions } from "./sessions.js";
import { createTopicFeed, type TopicFeed } from "./topic-feed.js";

/**
 * Batches of one topic in flight at once: with 2, an append made while one batch is out
 * goes out at once instead of waiting for that batch's reply (the latency at moderate
 * rates), and batches still form under load.
 */
const MAX_BATCHES_IN_FLIGHT = 2;

/** Entries per XRANGE page; a read pages until it reaches the head. */
const PAGE_SIZE = 500;

/** A broker on Redis: fan-out across server nodes, history in Redis Streams. */
export interface RedisBroker extends Broker {
  latest(topic: string, query?: LatestQuery): Promise<LatestRead>;
  /** Resolves once both Redis connections are up; rejects if the broker closes first. */
  ready(): Promise<void>;
  /** Called whenever `health()` changes (Redis lost or back, or its detail). Returns the undo. */
  onHealthChange(listener: (health: BrokerHealth) => void): () => void;
  /**
   * The Redis masters the broker sends its commands to now, as `host:port`: the one it is
   * connected to (with Sentinel, the current master, which changes with a fail-over), or
   * every master in a cluster's slot table. Empty while a single Redis is unreachable.
   */
  masters(): string[];
}

interface PendingAppend {
  readonly json: string;
  readonly dedupeKey: string | undefined;
  /** Set for a conflated append: its key and the table's value ('' for the data itself). */
  readonly conflate: { readonly key: string; readonly json: string } | undefined;
}

interface FeedSlot {
  readonly feed: TopicFeed;
  readonly channel: string;
  readonly started: Promise<void>;
}

/**
 * Candidate epochs: Redis keeps one only if the topic has none yet (see offsets.ts), so
 * every append and read carries one. Unique without drawing random bytes each time: a
 * random id per broker, then a counter.
 */
function epochSource(): () => string {
  const instance = randomBytes(6).toString("hex");
  let count = 0;
  return () => `${Date.now().toString(36)}-${instance}${(count++).toString(36)}`;
}

/** Connection-level failures of ioredis, as opposed to errors Redis replied with. */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === "MaxRetriesPerRequestError" ||
    /Connection is closed|Command timed out|Stream isn't writeable|ECONNRESET|EPIPE|^READONLY/.test(
      error.message,
    )
  );
}

/** Creates a broker on Redis (or Sentinel); pass it as the server's `broker`. */
export function createRedisBroker(options: RedisBrokerOptions = {}): RedisBroker {
  const opts = resolveOptions(options);
  const newEpoch = epochSource();
  const { logger } = opts;
  const source = { url: opts.url, redis: opts.redis, sentinel: opts.sentinel };
  const guard = opts.epochPerMaster ? "1" : "0";
  // Sharded pub/sub keeps a topic's messages on its slot's master (cluster/sharded-channels.ts).
  const publishCommand = opts.cluster === undefined ? "PUBLISH" : "SPUBLISH";
  const ping =
    opts.pingIntervalMs > 0
      ? { intervalMs: opts.pingIntervalMs, timeoutMs: opts.pingTimeoutMs }
      : undefined;
  const commandOptions = {
    role: "command",
    commandTimeoutMs: opts.commandTimeoutMs,
    // Redis answers a PING only after the WAITs sent before it (at most two, see
    // replication-barrier.ts): a lagging replica must not look like a dead connection.
    ping:
      ping === undefined || opts.waitForReplication === undefined
        ? ping
        : { ...ping, timeoutMs: ping.timeoutMs + 2 * opts.waitForReplication.timeoutMs },
    reconnect: opts.reconnect,
    logger,
  };
  const command: TrackedConnection<Redis | Cluster> =
    opts.cluster === undefined
      ? openConnection(source, commandOptions)
      : openClusterConnection(opts.cluster, commandOptions, opts.pingIntervalMs || 1000);
  const feeds = new Map<string, FeedSlot>();
  const topicsByChannel = new Map<string, string>();
  const sessions = createRedisSessions(command, {
    keyPrefix: opts.keyPrefix,
    ttlMs: opts.sessionTtlMs,
    lingerMs: opts.sessionLingerMs,
    logger,
  });
  let closed = false;
  const healthListeners = new Set<(health: BrokerHealth) => void>();
  let lastHealth: BrokerHealth | undefined;
  let warnedDown = false;
  const failedAttempt = (h: BrokerHealth) => /connection (reconnecting|end)/.test(h.detail ?? "");

  function feedsOf(channels: readonly string[]): TopicFeed[] {
    return channels.flatMap((channel) => {
      const topic = topicsByChannel.get(channel);
      const slot = topic === undefined ? undefined : feeds.get(topic);
      return slot === undefined ? [] : [slot.feed];
    });
  }

  // The subscriber's commands (SUBSCRIBE, PING) get a deadline too: its ready check must
  // not hang on a Redis that accepts connections but never answers.
  const liveOptions = { ...commandOptions, role: "subscriber" };
  const liveEvents: LiveChannelEvents = {
    message(channel, payload) {
      if (control.onMessage(channel, payload) || presence.onMessage(channel, payload)) return;
      const topic = topicsByChannel.get(channel);
      if (topic === undefined) return;
      const entries = decodeLive(topic, payload);
      if (entries === undefined) {
        logger.warn({ topic, channel }, "redis broker: ignored a malformed live message");
        return;
      }
      const feed = feeds.get(topic)?.feed;
      for (const entry of entries) feed?.push(entry);
    },
    // What Redis holds may change while a connection is down (fail-over, restart): live
    // entries wait until a fill has checked it (topic-feed.ts, suspend).
    lost: (channels) => {
      for (const feed of feedsOf(channels)) feed.suspend();
    },
    // Entries appended while a channel was not subscribed exist only in the stream.
    restored: (channels) => {
      control.resubscribe();
      presence.restored(channels);
      for (const feed of feedsOf(channels)) feed.resync();
    },
    statusChange: () => reportHealth(),
  };
  const live: LiveChannels =
    opts.cluster === undefined
      ? createPlainChannels(source, liveOptions, liveEvents)
      : createShardedChannels(command.redis as Cluster, liveOptions, liveEvents);
  const controlName = controlChannel(opts.keyPrefix);
  const control = createRedisControl(
    {
      // A shard channel on a cluster: its own slot, one master and its replicas.
      publish: (payload) =>
        command.redis instanceof Redis
          ? command.redis.publish(controlName, payload)
          : command.redis.spublish(controlName, payload),
      listen: () => live.add(controlName),
    },
    controlName,
    logger,
  );

  function problems(): string[] {
    const down = command.isReady() ? [] : [command.describe()];
    return [...down, ...live.problems()];
  }

  function health(): BrokerHealth {
    if (closed) return { healthy: false, detail: "redis broker closed" };
    const down = problems();
    if (down.length === 0) return { healthy: true };
    return { healthy: false, detail: down.join("; ") };
  }

  function reportHealth(): void {
    const now = health();
    if (now.healthy === lastHealth?.healthy && now.detail === lastHealth.detail) return;
    if (now.healthy) warnedDown = false;
    else if (!warnedDown && !closed && (lastHealth?.healthy === true || failedAttempt(now))) {
      // Before the first ready, "connecting" is the normal way up: only a failed attempt is news.
      logger.warn({ detail: now.detail }, "redis broker unhealthy");
      warnedDown = true;
    }
    lastHealth = now;
    for (const listener of [...healthListeners]) listener(now);
  }
  command.onStatusChange(() => {
    if (!command.isReady()) for (const slot of feeds.values()) slot.feed.suspend();
    reportHealth();
  });

  function unavailable(action: string): RedisBrokerError {
    if (closed)
      return new RedisBrokerError(
        RedisBrokerErrorCode.Closed,
        `cannot ${action}: the broker is closed`,
      );
    return new RedisBrokerError(
      RedisBrokerErrorCode.Unavailable,
      `cannot ${action}: ${problems().join("; ") || "redis unreachable"}`,
    );
  }

  function failure(action: string, error: unknown, outcomeUnknown: boolean): RedisBrokerError {
    if (error instanceof RedisBrokerError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (isConnectionError(error)) {
      return outcomeUnknown
        ? new RedisBrokerError(
            RedisBrokerErrorCode.OutcomeUnknown,
            `${action}: no reply from Redis (${message}); it may or may not have been appended, retry with the same dedupe key`,
            { cause: error },
          )
        : new RedisBrokerError(RedisBrokerErrorCode.Unavailable, `cannot ${action}: ${message}`, {
            cause: error,
          });
    }
    return new RedisBrokerError(
      RedisBrokerErrorCode.CommandFailed,
      `${action}: Redis replied ${message}`,
      {
        cause: error,
      },
    );
  }

  const wait = opts.waitForReplication;
  /** One per connection a write goes out on: one for a single Redis, one per cluster master. */
  const barriers = new WeakMap<Redis, ReplicationBarrier>();
  function barrierOf(writer: Redis): ReplicationBarrier {
    let barrier = barriers.get(writer);
    if (barrier === undefined) {
      barrier = createReplicationBarrier(() =>
        writer.wait(wait?.replicas ?? 0, wait?.timeoutMs ?? 0),
      );
      barriers.set(writer, barrier);
    }
    return barrier;
  }

  /**
   * WAIT on the connection that made the append: it returns once `replicas` replicas have
   * every write this connection made before it, or at the timeout with how many did; one
   * WAIT serves every append sent before it (replication-barrier.ts). On a cluster each
   * master's connection has its own barrier.
   */
  async function confirmReplicated(
    action: string,
    { replicas, timeoutMs }: { readonly replicas: number; readonly timeoutMs: number },
    barrier: ReplicationBarrier,
    ticket: number,
    online: number,
  ): Promise<void> {
    if (online < replicas) {
      // Too few replicas to ever confirm it: a WAIT would hold every command of this
      // connection (reads, other topics' appends) for timeoutMs and then fail the same way.
      throw new RedisBrokerError(
        RedisBrokerErrorCode.OutcomeUnknown,
        `${action}: appended on the master, but it has ${online} of ${replicas} replicas online, so no replica confirmed it; a fail-over could lose it, retry with the same dedupe key`,
      );
    }
    let acknowledged: number;
    try {
      acknowledged = await barrier.confirm(ticket);
    } catch (error) {
      throw failure(action, error, true);
    }
    if (acknowledged < replicas) {
      throw new RedisBrokerError(
        RedisBrokerErrorCode.OutcomeUnknown,
        `${action}: appended on the master but ${acknowledged} of ${replicas} replicas confirmed it within ${timeoutMs} ms; a fail-over could lose it, retry with the same dedupe key`,
      );
    }
  }

  /** Appends of one topic, in call order, as one script call (see append-batcher.ts). */
  async function appendBatch(
    topic: string,
    items: readonly PendingAppend[],
  ): Promise<AppendResult[]> {
    const action =
      items.length === 1 ? `append to "${topic}"` : `append ${items.length} entries to "${topic}"`;
    if (closed || !command.isReady()) throw unavailable(`${action} (nothing was appended)`);
    const keys = topicKeys(opts.keyPrefix, topic);
    const redisKeys = [keys.meta, keys.stream, keys.latest, keys.latestOrder];
    const perEntry: (string | number)[] = [];
    for (const { json, dedupeKey, conflate } of items) {
      if (dedupeKey !== undefined) redisKeys.push(keys.dedupe(dedupeKey));
      perEntry.push(dedupeKey === undefined ? 0 : redisKeys.length, json);
      perEntry.push(conflate ? 1 : 0, conflate?.key ?? "", conflate?.json ?? "");
    }
    const writer = wait === undefined ? undefined : writerOf(command.redis, keys.meta);
    let reply: [[number, string, number, number][], number];
    try {
      reply = (await scripts.append.run(command.redis, redisKeys, [
        newEpoch(),
        opts.maxMessages,
        opts.maxAgeMs,
        opts.dedupeWindowMs,
        keys.channel,
        guard,
        wait === undefined ? "0" : "1",
        items.length,
        opts.maxConflatedKeys,
        publishCommand,
        ...perEntry,
      ])) as [[number, string, number, number][], number];
    } catch (error) {
      throw failure(action, error, true);
    }
    const [results, online] = reply;
    // The ticket is taken once Redis ran the script (which may have been re-sent as EVAL
    // after NOSCRIPT): any WAIT sent from now on covers it.
    if (wait !== undefined) {
      const barrier = sameWriter(command.redis, keys.meta, writer, action, barrierOf);
      await confirmReplicated(action, wait, barrier, barrier.wrote(), online);
    }
    return results.map(([offset, epoch, ts, duplicate]) => ({
      offset,
      epoch,
      ts,
      duplicate: duplicate === 1,
    }));
  }
  const batcher = createAppendBatcher(appendBatch, opts.maxAppendBatch, MAX_BATCHES_IN_FLIGHT);

  /** One atomic read per page; pages until the head so a fill never mistakes a page end for a hole. */
  async function readTopic(
    topic: string,
    afterOffset: number,
    headOnly: boolean,
  ): Promise<TopicRead> {
    const keys = topicKeys(opts.keyPrefix, topic);
    const entries: LogEntry[] = [];
    let cursor = afterOffset;
    let epoch = "";
    let head = 0;
    const maxPages = Math.ceil(opts.maxMessages / PAGE_SIZE) + 2;
    for (let page = 0; page < maxPages; page++) {
      const reply = (await scripts.read.run(
        command.redis,
        [keys.meta, keys.stream, keys.latest, keys.latestOrder],
        [newEpoch(), cursor, headOnly ? 0 : PAGE_SIZE, guard],
      )) as [string, number, number, StreamItem[]];
      const [pageEpoch, pageHead, now, items] = reply;
      if (page > 0 && pageEpoch !== epoch) {
        // History was lost between two pages: what was read belongs to a dead epoch.
        return { epoch: pageEpoch, head: pageHead, entries: [] };
      }
      epoch = pageEpoch;
      head = pageHead;
      const cutoff = now - opts.maxAgeMs;
      for (const entry of decodeStream(topic, epoch, items)) {
        if (entry.ts >= cutoff) entries.push(entry);
      }
      const last = items.at(-1);
      if (headOnly || last === undefined || items.length < PAGE_SIZE) break;
      cursor = Number(last[0].slice(0, last[0].indexOf("-")));
      if (cursor >= head) break;
    }
    return { epoch, head, entries };
  }

  function startFeed(topic: string): FeedSlot {
    const { channel } = topicKeys(opts.keyPrefix, topic);
    const feed = createTopicFeed({
      topic,
      logger,
      read: (after, headOnly) => readTopic(topic, after, headOnly),
      rotate: async (epoch) => {
        const keys = topicKeys(opts.keyPrefix, topic);
        await scripts.rotate.run(
          command.redis,
          [keys.meta, keys.stream, keys.latest, keys.latestOrder],
          [epoch, newEpoch()],
        );
      },
    });
    topicsByChannel.set(channel, topic);
    const started = (async () => {
      // Subscribe before reading the head: every offset above that head then arrives live.
      await live.add(channel);
      await feed.start();
    })();
    return { feed, channel, started };
  }

  function dropFeed(topic: string, slot: FeedSlot): void {
    if (feeds.get(topic) !== slot) return;
    feeds.delete(topic);
    topicsByChannel.delete(slot.channel);
    live.remove(slot.channel);
  }

  // After a reconnect every feed reads what was appended while it was away; the channels'
  // own reconnects are reported by `restored` (see liveEvents).
  command.onReady(() => {
    control.resubscribe();
    for (const slot of feeds.values()) slot.feed.resync();
  });

  const presence = createRedisPresence({
    command,
    live,
    publishCommand,
    keyPrefix: opts.keyPrefix,
    nodeTimeoutMs: opts.presenceNodeTimeoutMs,
    logger,
    unavailable,
  });

  return {
    presence,
    sessions,
    control: { publish: control.publish, subscribe: control.subscribe },
    ready: async () => {
      await Promise.all([command.ready(), live.ready()]);
    },

    async append(
      topic: string,
      data: unknown,
      appendOptions?: AppendOptions,
    ): Promise<AppendResult> {
      if (closed || !command.isReady())
        throw unavailable(`append to "${topic}" (nothing was appended)`);
      const conflate = appendOptions?.conflate;
      const item: PendingAppend = {
        json: encodeData(topic, data),
        dedupeKey: appendOptions?.dedupeKey,
        conflate:
          conflate === undefined
            ? undefined
            : {
                key: conflate.key,
                json: "value" in conflate ? encodeData(topic, conflate.value) : "",
              },
      };
      if (opts.maxAppendBatch === 1) {
        // Unbatched: each append its own script call, pipelined on the connection (which
        // keeps them in call order).
        const [result] = await appendBatch(topic, [item]);
        if (result === undefined) throw new Error("the append script returned no result");
        return result;
      }
      return await batcher.add(topic, item);
    },

    async subscribe(topic: string, listener: EntryListener): Promise<() => Promise<void>> {
      let slot = feeds.get(topic);
      if (slot === undefined) {
        if (closed || !command.isReady()) throw unavailable(`subscribe to "${topic}"`);
        slot = startFeed(topic);
        feeds.set(topic, slot);
      }
      const current = slot;
      const remove = current.feed.add(listener);
      try {
        await current.started;
      } catch (error) {
        remove();
        dropFeed(topic, current);
        throw failure(`subscribe to "${topic}"`, error, false);
      }
      let active = true;
      return async () => {
        if (!active) return;
        active = false;
        remove();
        if (current.feed.listenerCount === 0) dropFeed(topic, current);
      };
    },

    async readSince(
      topic: string,
      afterOffset: number,
      epoch: string | undefined,
    ): Promise<HistoryRead> {
      if (closed || !command.isReady()) throw unavailable(`read the history of "${topic}"`);
      const after = Number.isSafeInteger(afterOffset) && afterOffset > 0 ? afterOffset : 0;
      let read: TopicRead;
      try {
        read = await readTopic(topic, after, false);
      } catch (error) {
        throw failure(`read the history of "${topic}"`, error, false);
      }
      const sameEpoch = epoch === undefined ? after === 0 : epoch === read.epoch;
      const entries = read.entries;
      const complete =
        sameEpoch &&
        after <= read.head &&
        entries.length === read.head - after &&
        (entries.length === 0 || entries[0]?.offset === after + 1);
      return { epoch: read.epoch, entries, complete, head: read.head };
    },

    async head(topic: string): Promise<TopicHead> {
      if (closed || !command.isReady()) throw unavailable(`read the head of "${topic}"`);
      try {
        const read = await readTopic(topic, 0, true);
        return { offset: read.head, epoch: read.epoch };
      } catch (error) {
        throw failure(`read the head of "${topic}"`, error, false);
      }
    },

    async latest(topic: string, query: LatestQuery = {}): Promise<LatestRead> {
      if (closed || !command.isReady()) throw unavailable(`read the latest of "${topic}"`);
      const keys = topicKeys(opts.keyPrefix, topic);
      let reply: [string, number, (string | null)[]];
      try {
        reply = (await scripts.latest.run(
          command.redis,
          [keys.meta, keys.stream, keys.latest, keys.latestOrder],
          [newEpoch(), guard, query.after ?? 0, query.limit ?? 0],
        )) as [string, number, (string | null)[]];
      } catch (error) {
        throw failure(`read the latest of "${topic}"`, error, false);
      }
      const [epoch, head, values] = reply;
      return { epoch, head, entries: decodeLatest(topic, epoch, values) };
    },

    health,

    masters() {
      const client = command.redis;
      if (client instanceof Redis) {
        const { remoteAddress, remotePort } = client.stream ?? {};
        return command.isReady() && remoteAddress !== undefined
          ? [`${remoteAddress}:${remotePort}`]
          : [];
      }
      // The slot table, not the connection pool: the pool holds a node only once ioredis
      // has connected to it, the table every master as soon as the cluster is ready.
      const masters = new Set<string>();
      for (const nodes of client.slots) if (nodes?.[0] !== undefined) masters.add(nodes[0]);
      return [...masters];
    },

    onHealthChange(listener) {
      healthListeners.add(listener);
      return () => {
        healthListeners.delete(listener);
      };
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      presence.close();
      sessions.close();
      healthListeners.clear();
      feeds.clear();
      topicsByChannel.clear();
      await Promise.all([command.close(), live.close()]);
    },
  };
}
