import { randomBytes } from "node:crypto";
import type {
  AppendOptions,
  AppendResult,
  Broker,
  BrokerHealth,
  EntryListener,
  HistoryOptions,
  HistoryRead,
  LogEntry,
  TopicHead,
} from "./broker.js";
import { type Clock, systemClock } from "./clock.js";

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
   * Epoch of every topic of this broker. A new broker gets a fresh one, so clients notice
   * that an in-memory history was lost with a restart.
   * @default a random string
   */
  readonly epoch?: string;
  /**
   * Time source for entry timestamps, retention and the dedupe window.
   * @default the system clock
   */
  readonly clock?: Clock;
}

interface TopicLog {
  /** Retained entries, oldest first; `entries[i].offset === firstOffset + i`. */
  entries: LogEntry[];
  head: number;
  readonly listeners: Set<EntryListener>;
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
  const epoch = options.epoch ?? `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  const topics = new Map<string, TopicLog>();
  // Map iteration order is insertion order, so the first keys are the oldest.
  const dedupe = new Map<string, DedupeRecord>();
  let closed = false;

  function log(topic: string): TopicLog {
    let found = topics.get(topic);
    if (!found) {
      found = { entries: [], head: 0, listeners: new Set() };
      topics.set(topic, found);
    }
    return found;
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

  function assertOpen(): void {
    if (closed) throw new Error("memory broker is closed");
  }

  return {
    async append(topic: string, data: unknown, appendOptions?: AppendOptions) {
      assertOpen();
      const now = clock.now();
      const key = appendOptions?.dedupeKey;
      if (key !== undefined) {
        forgetExpiredKeys(now);
        const seen = dedupe.get(`${topic}\u0000${key}`);
        if (seen && seen.expiresAt > now) return { ...seen.result, duplicate: true };
      }
      const topicLog = log(topic);
      topicLog.head += 1;
      const entry: LogEntry = { topic, offset: topicLog.head, epoch, data, ts: now };
      topicLog.entries.push(entry);
      trim(topicLog, now);
      const result: AppendResult = { offset: entry.offset, epoch, ts: now, duplicate: false };
      if (key !== undefined) {
        dedupe.set(`${topic}\u0000${key}`, { topic, result, expiresAt: now + dedupeWindowMs });
      }
      for (const listener of topicLog.listeners) {
        try {
          listener(entry);
        } catch {
          // One failing listener must not stop delivery to the others (issue 3).
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
      const sameEpoch = since === undefined ? after === 0 : since === epoch;
      const complete =
        sameEpoch && after <= head && (retained.length === 0 ? after === head : first <= after + 1);
      const read: HistoryRead = { epoch, entries, complete, head };
      return read;
    },

    async head(topic: string): Promise<TopicHead> {
      assertOpen();
      return { offset: topics.get(topic)?.head ?? 0, epoch };
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
