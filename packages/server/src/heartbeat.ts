import type { Clock, TimerHandle } from "./clock.js";

/** What the monitor needs from a connection; the fields live on the connection itself. */
export interface HeartbeatTarget {
  /** When anything was last received from the peer, in clock milliseconds. */
  lastActivityAt: number;
  /** When the next ping is due, in clock milliseconds (set by the monitor). */
  nextPingAt: number;
}

export interface HeartbeatOptions<T extends HeartbeatTarget> {
  readonly clock: Clock;
  /** Ping period; 0 disables the monitor. */
  readonly intervalMs: number;
  /** Extra silence tolerated after an interval. */
  readonly timeoutMs: number;
  /** Sends a ping frame and an app `{type:"ping"}`. */
  readonly ping: (target: T) => void;
  /** Drops a target silent for `intervalMs + timeoutMs`; it is removed from the monitor. */
  readonly expire: (target: T, silentMs: number) => void;
}

export interface HeartbeatMonitor<T extends HeartbeatTarget> {
  add(target: T): void;
  remove(target: T): void;
  /** Stops the sweep timer (server shutdown). */
  stop(): void;
  /** How late a ping or an expiry may come, in milliseconds. */
  readonly resolutionMs: number;
}

/**
 * Liveness per DESIGN.md ("Liveness"): a ping every `intervalMs`, and a peer silent for
 * `intervalMs + timeoutMs` expired. One sweep timer for every connection of a server
 * rather than a timer per connection: 10,000 idle connections cost one timer and a loop
 * of comparisons per sweep, and receiving a message costs only a timestamp. Pings and
 * expiries fire on the first sweep at or after they are due, at most `resolutionMs` late
 * (1/25 of the interval, between 10 ms and 1 s).
 */
export function createHeartbeatMonitor<T extends HeartbeatTarget>(
  options: HeartbeatOptions<T>,
): HeartbeatMonitor<T> {
  const { clock, intervalMs, timeoutMs } = options;
  const deadlineMs = intervalMs + timeoutMs;
  const resolutionMs = Math.max(10, Math.min(1000, Math.floor(intervalMs / 25)));
  const targets = new Set<T>();
  let timer: TimerHandle | undefined;

  const schedule = (): void => {
    timer = clock.setTimeout(sweep, resolutionMs);
  };

  function sweep(): void {
    timer = undefined;
    const now = clock.now();
    for (const target of targets) {
      const silentMs = now - target.lastActivityAt;
      if (silentMs >= deadlineMs) {
        targets.delete(target);
        options.expire(target, silentMs);
      } else if (now >= target.nextPingAt) {
        target.nextPingAt = now + intervalMs;
        options.ping(target);
      }
    }
    if (targets.size > 0) schedule();
  }

  return {
    resolutionMs,
    add(target) {
      if (intervalMs <= 0) return;
      target.nextPingAt = clock.now() + intervalMs;
      targets.add(target);
      if (timer === undefined) schedule();
    },
    remove(target) {
      targets.delete(target);
      if (targets.size === 0 && timer !== undefined) {
        clock.clearTimeout(timer);
        timer = undefined;
      }
    },
    stop() {
      targets.clear();
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
