import { type ConnectionOptions, type ConnectionSource, openConnection } from "./connection.js";
import { RedisBrokerError, RedisBrokerErrorCode } from "./errors.js";

/** What the broker hears from its pub/sub side. */
export interface LiveChannelEvents {
  /** A message published on a subscribed channel. */
  message(channel: string, payload: string): void;
  /** These channels stopped receiving (a connection dropped): messages may be missed. */
  lost(channels: readonly string[]): void;
  /** These channels are subscribed again: what was published meanwhile is only in the streams. */
  restored(channels: readonly string[]): void;
  /** Readiness or its detail changed (see `problems`). */
  statusChange(): void;
}

/**
 * The broker's pub/sub side: one subscriber connection to a single Redis (or Sentinel's
 * master), or one per cluster master with sharded pub/sub (cluster/sharded-channels.ts).
 */
export interface LiveChannels {
  /** Subscribes `channel`; resolves once Redis confirmed it, rejects if it cannot be. */
  add(channel: string): Promise<void>;
  /** Unsubscribes `channel` (best effort: a dropped connection has no subscriptions). */
  remove(channel: string): void;
  /** The connections that are down, described; empty when every one is up. */
  problems(): string[];
  /** Resolves once the connections needed from the start are up. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One subscriber connection with SUBSCRIBE/PUBLISH. After a reconnect it subscribes every
 * channel again, then reports them restored so the broker reads what it missed.
 */
export function createPlainChannels(
  source: ConnectionSource,
  options: ConnectionOptions,
  events: LiveChannelEvents,
): LiveChannels {
  const subscriber = openConnection(source, options);
  const channels = new Set<string>();
  subscriber.onStatusChange(() => {
    if (!subscriber.isReady()) events.lost([...channels]);
    events.statusChange();
  });
  subscriber.redis.on("message", (channel: string, payload: string) => {
    if (channels.has(channel)) events.message(channel, payload);
  });
  subscriber.onReady(() => {
    const all = [...channels];
    if (all.length === 0) return;
    subscriber.redis.subscribe(...all).then(
      () => events.restored(all),
      (error: unknown) => options.logger.warn({ err: error }, "redis broker: resubscribe failed"),
    );
  });
  return {
    async add(channel) {
      if (!subscriber.isReady())
        throw new RedisBrokerError(
          RedisBrokerErrorCode.Unavailable,
          `cannot subscribe to ${channel}: ${subscriber.describe()}`,
        );
      channels.add(channel);
      try {
        await subscriber.redis.subscribe(channel);
      } catch (error) {
        channels.delete(channel);
        throw error;
      }
    },
    remove(channel) {
      channels.delete(channel);
      if (!subscriber.isReady()) return;
      subscriber.redis.unsubscribe(channel).catch((error: unknown) => {
        options.logger.debug({ err: error, channel }, "redis broker: unsubscribe failed");
      });
    },
    problems: () => (subscriber.isReady() ? [] : [subscriber.describe()]),
    ready: () => subscriber.ready(),
    async close() {
      channels.clear();
      await subscriber.close();
    },
  };
}
