import { randomBytes } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { defaultReconnect, openConnection, type TrackedConnection } from "./connection.js";
import { leaseKey } from "./keys.js";
import { type Logger, silentLogger } from "./logger.js";
import { scripts } from "./offsets.js";

/** Time source of the lease; tests pass a fake one. */
export interface LeaseClock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: LeaseClock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Options of `createLease`. */
export interface LeaseOptions {
  /** Redis URL; the lease opens (and on close, closes) its own connection. Ignored when `redis` is given. */
  readonly url?: string;
  /**
   * An ioredis client to use as is, a `Cluster` too (the lease is one key, on one slot);
   * the lease never closes it.
   */
  readonly redis?: Redis | Cluster;
  /** Names the lease: every holder candidate with the same name competes for one key. */
  readonly name: string;
  /** @default "lifeline:" */
  readonly keyPrefix?: string;
  /**
   * How long the lease lasts without renewal, in milliseconds; after a holder dies,
   * another takes over within `ttlMs + renewEveryMs`.
   * @default 5000
   */
  readonly ttlMs?: number;
  /**
   * Interval between renewals by the holder, and between attempts by the others, in
   * milliseconds. Values above `ttlMs / 2` are lowered to it, so one late renewal does
   * not lose the lease.
   * @default ttlMs / 3
   */
  readonly renewEveryMs?: number;
  /** Called with `true` when this process gains the lease and `false` when it loses it. */
  readonly onChange?: (held: boolean) => void;
  /** @default the system clock */
  readonly clock?: LeaseClock;
  /** @default silent */
  readonly logger?: Logger;
}

/** A lease held in Redis by at most one holder at a time (one producer among many nodes). */
export interface Lease {
  /** True while this process may act as the holder. */
  readonly held: boolean;
  /** Stops renewing and releases the lease if held (others can take it at once). */
  close(): Promise<void>;
}

/**
 * A lease (leader election for one job) on a Redis key: `SET key token NX PX ttl` to
 * acquire, a compare-and-renew script to extend, a compare-and-delete script to release.
 *
 * The holder counts its term from the moment it *sent* the successful command, so it
 * believes itself the holder no longer than Redis keeps the key: when renewals fail (Redis
 * unreachable) it stops at `sentAt + ttlMs`, before anyone else can acquire.
 */
export function createLease(options: LeaseOptions): Lease {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const ttlMs =
    options.ttlMs !== undefined && options.ttlMs >= 1 ? Math.floor(options.ttlMs) : 5000;
  const renewEveryMs = Math.max(
    1,
    options.renewEveryMs !== undefined && options.renewEveryMs >= 1
      ? Math.min(Math.floor(options.renewEveryMs), Math.floor(ttlMs / 2))
      : Math.floor(ttlMs / 3),
  );
  const key = leaseKey(options.keyPrefix ?? "lifeline:", options.name);
  const token = randomBytes(16).toString("hex");
  const owned: TrackedConnection | undefined =
    options.redis === undefined
      ? openConnection(
          { url: options.url },
          { role: "lease", commandTimeoutMs: ttlMs, reconnect: defaultReconnect, logger },
        )
      : undefined;
  const redis: Redis | Cluster = options.redis ?? (owned as TrackedConnection).redis;

  let held = false;
  let closed = false;
  let tickTimer: unknown;
  let expiryTimer: unknown;
  let inFlight: Promise<void> = Promise.resolve();

  function setHeld(next: boolean): void {
    if (held === next) return;
    held = next;
    logger.info({ lease: options.name, held }, held ? "lease acquired" : "lease lost");
    options.onChange?.(next);
  }

  function holdUntil(until: number): void {
    if (expiryTimer !== undefined) clock.clearTimeout(expiryTimer);
    const remaining = until - clock.now();
    if (remaining <= 0) {
      expiryTimer = undefined;
      setHeld(false);
      return;
    }
    expiryTimer = clock.setTimeout(() => {
      expiryTimer = undefined;
      setHeld(false);
    }, remaining);
    setHeld(true);
  }

  async function attempt(): Promise<void> {
    const sentAt = clock.now();
    try {
      if (held) {
        const renewed = await scripts.renew.run(redis, [key], [token, ttlMs]);
        if (closed) return;
        if (renewed === 1) holdUntil(sentAt + ttlMs);
        else {
          if (expiryTimer !== undefined) clock.clearTimeout(expiryTimer);
          expiryTimer = undefined;
          setHeld(false);
        }
      } else {
        const result = await redis.set(key, token, "PX", ttlMs, "NX");
        if (closed) return;
        if (result === "OK") holdUntil(sentAt + ttlMs);
      }
    } catch (error) {
      logger.warn({ err: error, lease: options.name }, "lease: Redis command failed");
    }
  }

  function schedule(delayMs: number): void {
    tickTimer = clock.setTimeout(() => {
      tickTimer = undefined;
      inFlight = attempt().then(() => {
        if (!closed) schedule(renewEveryMs);
      });
    }, delayMs);
  }

  schedule(0);

  return {
    get held() {
      return held;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (tickTimer !== undefined) clock.clearTimeout(tickTimer);
      await inFlight;
      if (expiryTimer !== undefined) clock.clearTimeout(expiryTimer);
      if (held) {
        try {
          await scripts.release.run(redis, [key], [token]);
        } catch (error) {
          logger.warn(
            { err: error, lease: options.name },
            "lease: release failed, it expires by itself",
          );
        }
        setHeld(false);
      }
      await owned?.close();
    },
  };
}
