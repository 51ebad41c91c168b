import type { Clock } from "../util/clock.js";

export interface WatchdogOptions {
  readonly clock: Clock;
  /** The server's heartbeat interval from `hello`. */
  readonly intervalMs: number;
  /** Extra silence tolerated beyond the interval before the link is declared dead. */
  readonly graceMs: number;
  /** A timer that fires this much later than asked is treated as throttled (background tab). */
  readonly lateTimerToleranceMs: number;
  /** Heartbeats are late: the client goes `degraded`. */
  readonly onLate: () => void;
  /** A frame arrived after `onLate`. */
  readonly onRecovered: () => void;
  /** Sends a probe `ping`, which a live server answers at once. */
  readonly probe: () => void;
  /** No frame for interval + grace and the probe went unanswered: the link is half-open. */
  readonly onDead: (silentForMs: number) => void;
}

export interface Watchdog {
  /** Any frame from the server proves it alive; `now` is the clock's time of arrival. */
  touch(now: number): void;
  /** Re-checks now (the page became visible, the device woke up). */
  check(): void;
  stop(): void;
}

/**
 * Detects a half-open connection: no frame from the server within interval + grace.
 *
 * Deadlines are measured on the wall clock, never by counting timer callbacks: background
 * tabs fire timers a minute late or more, and a frozen page runs its overdue timers before
 * the socket's queued messages. So the watchdog never declares the link dead from a single
 * late timer: first it marks the link late and sends a probe `ping`, then it gives the
 * answer `graceMs / 2` of wall-clock time, and a callback that itself fired late buys one
 * more probe round, so frames queued behind it get delivered first (the false "ping
 * timeout" of other clients).
 */
export function createWatchdog(options: WatchdogOptions): Watchdog {
  const { clock, intervalMs, graceMs } = options;
  const lateAfterMs = intervalMs + graceMs / 2;
  const deadAfterMs = intervalMs + graceMs;
  const probeWindowMs = graceMs / 2;
  let lastFrameAt = clock.now();
  let probeSentAt: number | undefined;
  let deferredForLateTimer = false;
  let handle: unknown;
  let dueAt = 0;
  let stopped = false;

  const arm = (at: number) => {
    if (stopped) return;
    if (handle !== undefined) clock.clearTimeout(handle);
    dueAt = at;
    handle = clock.setTimeout(fire, Math.max(0, at - clock.now()));
  };

  const sendProbe = (now: number) => {
    probeSentAt = now;
    options.probe();
    arm(now + probeWindowMs);
  };

  function fire(): void {
    handle = undefined;
    if (stopped) return;
    const now = clock.now();
    const silentForMs = now - lastFrameAt;
    if (silentForMs < lateAfterMs) {
      arm(lastFrameAt + lateAfterMs);
      return;
    }
    const timerWasLate = now - dueAt > options.lateTimerToleranceMs;
    if (probeSentAt === undefined) {
      options.onLate();
      if (!stopped) sendProbe(now);
      return;
    }
    const probeUnansweredFor = now - probeSentAt;
    if (timerWasLate && !deferredForLateTimer) {
      deferredForLateTimer = true;
      sendProbe(now);
      return;
    }
    if (silentForMs >= deadAfterMs && probeUnansweredFor >= probeWindowMs) {
      stopped = true;
      options.onDead(silentForMs);
      return;
    }
    arm(Math.max(probeSentAt + probeWindowMs, lastFrameAt + deadAfterMs));
  }

  if (intervalMs > 0) arm(lastFrameAt + lateAfterMs);
  else stopped = true;

  return {
    touch(now) {
      if (stopped) return;
      lastFrameAt = now;
      if (probeSentAt !== undefined) {
        probeSentAt = undefined;
        deferredForLateTimer = false;
        options.onRecovered();
        arm(lastFrameAt + lateAfterMs);
      }
    },
    check() {
      if (stopped) return;
      if (handle !== undefined) clock.clearTimeout(handle);
      handle = undefined;
      dueAt = clock.now();
      fire();
    },
    stop() {
      stopped = true;
      if (handle !== undefined) clock.clearTimeout(handle);
      handle = undefined;
    },
  };
}
