/**
 * Time as a parameter (STYLE rule 4): heartbeats, rate limits, handler timeouts and
 * shutdown pacing read the time and set timers only through a `Clock`, so tests drive
 * them with a fake clock while real sockets keep using Node's own timers.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `callback` after `delayMs` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer set with `setTimeout`. */
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque timer handle returned by `Clock.setTimeout`. */
export type TimerHandle = unknown;

/** The real clock: `Date.now` and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    // A pending heartbeat or pacing timer must never keep a process alive on its own.
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** Resolves after `delayMs` on `clock`. */
export function sleep(clock: Clock, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, delayMs);
  });
}
