import type { BackoffPolicy } from "@lifeline/backoff";
import type { HistoryOptions } from "@lifeline/protocol";
import type { Redis } from "ioredis";
import { defaultReconnect } from "./connection.js";
import { type Logger, silentLogger } from "./logger.js";

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
   * Prefix of every key and channel the broker uses; nodes sharing a prefix share topics.
   * @default "lifeline:"
   */
  readonly keyPrefix?: string;
  /** Per-topic retention in the Redis stream: `{ maxMessages: 1000, maxAgeMs: 300000 }`. */
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
   * @default exponential from 50 ms to 2 s with full jitter, never giving up
   */
  readonly reconnect?: BackoffPolicy;
  /** A pino logger or anything with the same four methods. @default silent */
  readonly logger?: Logger;
}

export interface ResolvedRedisBrokerOptions {
  readonly url: string | undefined;
  readonly redis: Redis | undefined;
  readonly keyPrefix: string;
  readonly maxMessages: number;
  readonly maxAgeMs: number;
  readonly dedupeWindowMs: number;
  readonly commandTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly reconnect: BackoffPolicy;
  readonly logger: Logger;
}

export const defaults = {
  keyPrefix: "lifeline:",
  maxMessages: 1000,
  maxAgeMs: 300_000,
  dedupeWindowMs: 300_000,
  commandTimeoutMs: 5000,
  pingIntervalMs: 1000,
  pingTimeoutMs: 2000,
} as const;

function positiveInt(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
}

export function resolveOptions(options: RedisBrokerOptions): ResolvedRedisBrokerOptions {
  return {
    url: options.url,
    redis: options.redis,
    keyPrefix: options.keyPrefix ?? defaults.keyPrefix,
    maxMessages: positiveInt(options.history?.maxMessages, defaults.maxMessages),
    maxAgeMs: positiveInt(options.history?.maxAgeMs, defaults.maxAgeMs),
    dedupeWindowMs: positiveInt(options.dedupeWindowMs, defaults.dedupeWindowMs),
    commandTimeoutMs: positiveInt(options.commandTimeoutMs, defaults.commandTimeoutMs),
    pingIntervalMs:
      options.pingIntervalMs === 0
        ? 0
        : positiveInt(options.pingIntervalMs, defaults.pingIntervalMs),
    pingTimeoutMs: positiveInt(options.pingTimeoutMs, defaults.pingTimeoutMs),
    reconnect: options.reconnect ?? defaultReconnect,
    logger: options.logger ?? silentLogger,
  };
}
