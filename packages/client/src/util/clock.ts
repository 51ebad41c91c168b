/**
 * Time as a parameter: the client reads the time and sets timers only through a `Clock`,
 * so tests drive it with a manual clock instead of fake timers (which would also freeze
 * the timers of a real socket library).
 */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `callback` after `delayMs` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, delayMs: number): unknown;
  /** Cancels a timer set with `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** The real clock: `Date.now` and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, delayMs),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Runs `callback` once after `delayMs`; the returned function cancels it. */
export function after(clock: Clock, delayMs: number, callback: () => void): () => void {
  let pending = true;
  const handle = clock.setTimeout(() => {
    pending = false;
    callback();
  }, delayMs);
  return () => {
    if (!pending) return;
    pending = false;
    clock.clearTimeout(handle);
  };
}
