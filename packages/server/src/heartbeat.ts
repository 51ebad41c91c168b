import type { Clock, TimerHandle } from "./clock.js";

/** What the monitor needs from a connection; the fields live on the connection itself. */
export interface HeartbeatTarget {
  /** When anything was last received from the peer, in clock milliseconds. */
  lastActivityAt: number;
  /** When the next ping is due, in clock milliseconds (set by the monitor). */
  nextPingAt: number;
  /** Position in the monitor's list, -1 when not monitored (set by the monitor). */
  heartbeatIndex: number;
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
 * Liveness per PROTOCOL.md ("Liveness"): a ping every `intervalMs`, and a peer silent for
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
  // An array with each target's index on the target: add and remove are O(1) without
  // hashing, and the sweep is a plain loop.
  const targets: T[] = [];
  let timer: TimerHandle | undefined;

  const detach = (target: T): void => {
    const index = target.heartbeatIndex;
    if (index < 0 || targets[index] !== target) return;
    const last = targets.pop() as T;
    if (last !== target) {
      targets[index] = last;
      last.heartbeatIndex = index;
    }
    target.heartbeatIndex = -1;
  };

  const schedule = (): void => {
    timer = clock.setTimeout(sweep, resolutionMs);
  };

  function sweep(): void {
    timer = undefined;
    const now = clock.now();
    // Backwards, so removing the current target (swapped with the last) skips nothing.
    for (let i = targets.length - 1; i >= 0; i -= 1) {
      const target = targets[i];
      if (target === undefined) continue;
      const silentMs = now - target.lastActivityAt;
      try {
        if (silentMs >= deadlineMs) {
          detach(target);
          options.expire(target, silentMs);
        } else if (now >= target.nextPingAt) {
          target.nextPingAt = now + intervalMs;
          options.ping(target);
        }
      } catch {
        // One broken socket must not stop the sweep for every other connection.
      }
    }
    if (targets.length > 0) schedule();
  }

  return {
    resolutionMs,
    add(target) {
      if (intervalMs <= 0) return;
      if (target.heartbeatIndex >= 0) return;
      target.nextPingAt = clock.now() + intervalMs;
      target.heartbeatIndex = targets.push(target) - 1;
      if (timer === undefined) schedule();
    },
    remove(target) {
      detach(target);
      if (targets.length === 0 && timer !== undefined) {
        clock.clearTimeout(timer);
        timer = undefined;
      }
    },
    stop() {
      for (const target of targets) target.heartbeatIndex = -1;
      targets.length = 0;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
