import type { Clock, TimerHandle } from "./clock.js";

export interface HeartbeatTarget {
  /** When anything was last received from the client, in clock milliseconds. */
  lastSeenAt(): number;
  /** Sends a ping frame and an app `{type:"ping"}`. */
  ping(): void;
  /** Drops the connection: it has been silent for interval + timeout. */
  expire(silentMs: number): void;
}

/**
 * Liveness per DESIGN.md: a ping every `intervalMs`; a client silent for
 * `intervalMs + timeoutMs` is expired. One timer per connection that wakes for whichever
 * comes first, so receiving a message costs nothing but a timestamp.
 * Returns the `stop()`.
 */
export function startHeartbeat(
  target: HeartbeatTarget,
  clock: Clock,
  intervalMs: number,
  timeoutMs: number,
): () => void {
  if (intervalMs <= 0) return () => {};
  const deadlineMs = intervalMs + timeoutMs;
  let nextPingAt = clock.now() + intervalMs;
  let timer: TimerHandle | undefined;
  let stopped = false;

  const schedule = (): void => {
    const expiresAt = target.lastSeenAt() + deadlineMs;
    const wakeAt = Math.min(nextPingAt, expiresAt);
    timer = clock.setTimeout(wake, Math.max(0, wakeAt - clock.now()));
  };

  function wake(): void {
    if (stopped) return;
    const now = clock.now();
    const silentMs = now - target.lastSeenAt();
    if (silentMs >= deadlineMs) {
      stopped = true;
      target.expire(silentMs);
      return;
    }
    if (now >= nextPingAt) {
      target.ping();
      nextPingAt = now + intervalMs;
    }
    schedule();
  }

  schedule();
  return () => {
    stopped = true;
    if (timer !== undefined) clock.clearTimeout(timer);
  };
}
