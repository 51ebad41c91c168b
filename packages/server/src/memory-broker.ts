import { randomBytes } from "node:crypto";
import type {
  AppendOptions,
  AppendResult,
  Broker,
  BrokerHealth,
  EntryListener,
  HistoryOptions,
  HistoryRead,
  LatestQuery,
  LatestRead,
  LogEntry,
  TopicHead,
} from "./broker.js";
import { type Clock, systemClock } from "./clock.js";
import { LifelineServerError, ServerErrorCode } from "./errors.js";
import { createMemoryPresence } from "./presence/memory-presence.js";

export interface MemoryBrokerOptions extends HistoryOptions {
  /**
   * How long a publish dedupe key is remembered, in milliseconds.
   * @default 300000
   */
  readonly dedupeWindowMs?: number;
  /**
   * Most dedupe keys remembered at once (oldest forgotten first), bounding memory.
   * @default 100000
   */
  readonly maxDedupeKeys?: number;
  /**
   * Most topics held at once. A subscribe or append that would create one more throws a
   * `LifelineServerError` with code `LIFELINE_TOPIC_LIMIT` (the server answers `overloaded`)
   * until idle topics are forgotten. Infinity for no limit.
   * @default 100000
   */
  readonly maxTopics?: number;
  /**
   * Epoch of the topics of this broker. A new broker gets a fresh one, so clients notice
   * that an in-memory history was lost with a restart. A topic forgotten while idle (see
   * `TopicLog`) comes back under a derived epoch, `<epoch>~<n>`, for the same reason.
   * @default a random string
   */
  readonly epoch?: string;
  /**
   * Time source for entry timestamps, retention and the dedupe window.
   * @default the system clock
   */
  readonly clock?: Clock;
}

/**
 * One topic's log. A log with no retained entries and no listeners is forgotten at the next
 * sweep, so short-lived topic names (per session, per job) do not grow memory for ever; when
 * such a topic is used again its offsets restart under a new epoch, which resuming clients
 * see as lost history (it was: everything had expired).
 */
interface TopicLog {
  /** Retained entries, oldest first; `entries[i].offset === firstOffset + i`. */
  entries: LogEntry[];
  head: number;
  readonly epoch: string;
  readonly listeners: Set<EntryListener>;
  /**
   * The latest entry per key of a conflated topic (PROTOCOL.md, "Conflation"). Map order is
   * update order, which is offset order: each update moves its key to the end.
   */
  latest: Map<string, LogEntry> | undefined;
}

interface DedupeRecord {
  readonly topic: string;
  readonly result: AppendResult;
  readonly expiresAt: number;
}

/**
 * The in-process broker: per-topic logs in memory with bounded history, synchronous
 * fan-out to listeners, and idempotent appends by dedupe key.
 */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): Broker {
  const clock = options.clock ?? systemClock;
  const maxMessages = options.maxMessages ?? 1000;
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  const dedupeWindowMs = options.dedupeWindowMs ?? 300_000;
  const maxDedupeKeys = options.maxDedupeKeys ?? 100_000;
  const maxTopics = options.maxTopics ?? 100_000;
  const maxConflatedKeys = options.maxConflatedKeys ?? 10_000;
  const epoch = options.epoch ?? `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  const topics = new Map<string, TopicLog>();
  const sweepIntervalMs = Math.min(maxAgeMs, 60_000);
  let lastSweep = clock.now();
  /** When a full table last swept early; at most once a second, as a refusal costs O(topics). */
  let lastEarlySweep = Number.NEGATIVE_INFINITY;
  /** Topics forgotten so far; a topic created after the first one gets a derived epoch. */
  let forgotten = 0;
  // Map iteration order is insertion order, so the first keys are the oldest.
  const dedupe = new Map<string, DedupeRecord>();
  let closed = false;

  function log(topic: string): TopicLog {
    let found = topics.get(topic);
    if (!found) {
      if (topics.size >= maxTopics) makeRoom(topic);
      found = {
        entries: [],
        head: 0,
        epoch: currentEpoch(),
        listeners: new Set(),
        latest: undefined,
      };
      topics.set(topic, found);
    }
    return found;
  }

  /** Forgets expired topics now if the table is full; throws if that frees nothing. */
  function makeRoom(topic: string): void {
    const now = clock.now();
    if (now - lastEarlySweep >= 1000) {
      lastEarlySweep = now;
      sweep(now, true);
    }
    if (topics.size < maxTopics) return;
    throw new LifelineServerError(
      ServerErrorCode.TopicLimit,
      `cannot create topic "${topic}": the broker holds its limit of ${maxTopics} topics`,
    );
  }

  /** Drops the logs that hold nothing and feed nobody; at most once per sweep interval. */
  function sweep(now: number, early = false): void {
    if (!early && now - lastSweep < sweepIntervalMs) return;
    lastSweep = now;
    for (const [topic, topicLog] of topics) {
      trim(topicLog, now);
      const idle = topicLog.listeners.size === 0 && (topicLog.latest?.size ?? 0) === 0;
      if (topicLog.entries.length === 0 && idle) {
        topics.delete(topic);
        forgotten += 1;
      }
    }
  }

  function trim(topicLog: TopicLog, now: number): void {
    const { entries } = topicLog;
    let drop = Math.max(0, entries.length - maxMessages);
    const oldest = now - maxAgeMs;
    while (drop < entries.length && (entries[drop]?.ts ?? now) < oldest) drop += 1;
    if (drop > 0) topicLog.entries = entries.slice(drop);
  }

  function forgetExpiredKeys(now: number): void {
    for (const [key, record] of dedupe) {
      if (record.expiresAt > now && dedupe.size <= maxDedupeKeys) break;
      dedupe.delete(key);
    }
  }

  /** The epoch a topic created now would get. */
  function currentEpoch(): string {
    return forgotten === 0 ? epoch : `${epoch}~${forgotten}`;
  }

  function assertOpen(): void {
    if (closed) throw new Error("memory broker is closed");
  }

  return {
    presence: createMemoryPresence(),
    async append(topic: string, data: unknown, appendOptions?: AppendOptions) {
      assertOpen();
      const now = clock.now();
      const key = appendOptions?.dedupeKey;
      if (key !== undefined) {
        forgetExpiredKeys(now);
        const seen = dedupe.get(`${topic}\u0000${key}`);
        if (seen && seen.expiresAt > now) return { ...seen.result, duplicate: true };
      }
      sweep(now);
      const topicLog = log(topic);
      topicLog.head += 1;
      const entry: LogEntry = {
        topic,
        offset: topicLog.head,
        epoch: topicLog.epoch,
        data,
        ts: now,
      };
      topicLog.entries.push(entry);
      trim(topicLog, now);
      const conflate = appendOptions?.conflate;
      if (conflate !== undefined) {
        topicLog.latest ??= new Map();
        const table = topicLog.latest;
        table.delete(conflate.key);
        const value = "value" in conflate ? conflate.value : data;
        table.set(conflate.key, value === data ? entry : { ...entry, data: value });
        if (table.size > maxConflatedKeys) {
          const oldest = table.keys().next();
          if (!oldest.done) table.delete(oldest.value);
        }
      }
      const result: AppendResult = {
        offset: entry.offset,
        epoch: topicLog.epoch,
        ts: now,
        duplicate: false,
      };
      if (key !== undefined) {
        dedupe.set(`${topic}\u0000${key}`, { topic, result, expiresAt: now + dedupeWindowMs });
      }
      for (const listener of topicLog.listeners) {
        try {
          listener(entry);
        } catch {
          // One failing listener must not stop delivery to the others.
        }
      }
      return result;
    },

    async subscribe(topic: string, listener: EntryListener) {
      assertOpen();
      const topicLog = log(topic);
      // Wrapped so the same listener function can be subscribed twice independently.
      const wrapped: EntryListener = (entry) => listener(entry);
      topicLog.listeners.add(wrapped);
      return async () => {
        topicLog.listeners.delete(wrapped);
      };
    },

    async readSince(topic: string, afterOffset: number, since: string | undefined) {
      assertOpen();
      const topicLog = topics.get(topic);
      const head = topicLog?.head ?? 0;
      if (topicLog) trim(topicLog, clock.now());
      const after = Number.isSafeInteger(afterOffset) && afterOffset > 0 ? afterOffset : 0;
      const retained = topicLog?.entries ?? [];
      const first = retained[0]?.offset ?? head + 1;
      const start = Math.max(0, after + 1 - first);
      const entries = retained.slice(start);
      const topicEpoch = topicLog?.epoch ?? currentEpoch();
      const sameEpoch = since === undefined ? after === 0 : since === topicEpoch;
      const complete =
        sameEpoch && after <= head && (retained.length === 0 ? after === head : first <= after + 1);
      const read: HistoryRead = { epoch: topicEpoch, entries, complete, head };
      return read;
    },

    async head(topic: string): Promise<TopicHead> {
      assertOpen();
      const topicLog = topics.get(topic);
      return topicLog
        ? { offset: topicLog.head, epoch: topicLog.epoch }
        : { offset: 0, epoch: currentEpoch() };
    },

    async latest(topic: string, query: LatestQuery = {}): Promise<LatestRead> {
      assertOpen();
      const topicLog = topics.get(topic);
      if (!topicLog) return { epoch: currentEpoch(), head: 0, entries: [] };
      const after = query.after ?? 0;
      const limit = query.limit ?? Number.POSITIVE_INFINITY;
      const entries: LogEntry[] = [];
      // Newest first from the end of the map, as far as `after` and `limit` allow.
      const all = [...(topicLog.latest?.values() ?? [])];
      for (let i = all.length - 1; i >= 0 && entries.length < limit; i -= 1) {
        const entry = all[i] as LogEntry;
        if (entry.offset <= after) break;
        entries.push(entry);
      }
      entries.reverse();
      return { epoch: topicLog.epoch, head: topicLog.head, entries };
    },

    health(): BrokerHealth {
      return closed ? { healthy: false, detail: "memory broker closed" } : { healthy: true };
    },

    async close() {
      closed = true;
      for (const topicLog of topics.values()) topicLog.listeners.clear();
      topics.clear();
      dedupe.clear();
    },
  };
}
