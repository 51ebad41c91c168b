/**
 * Time as a parameter (STYLE rule 4): the simulation and the producers read the time and
 * set timers only through a `Clock`, so tests drive them with a fake one.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Calls `tick` every `periodMs` on `clock` without drift (each run is scheduled from the
 * first one's time, not from the previous run's end). Returns the stop function.
 */
export function every(clock: Clock, periodMs: number, tick: () => void): () => void {
  const start = clock.now();
  let runs = 0;
  let handle: unknown;
  let stopped = false;
  const schedule = (): void => {
    runs += 1;
    // After a stall (a long GC pause, a suspended laptop) skip the missed runs, not burst them.
    const behind = Math.floor((clock.now() - start) / periodMs);
    if (behind >= runs) runs = behind + 1;
    const delay = Math.max(0, start + runs * periodMs - clock.now());
    handle = clock.setTimeout(() => {
      if (stopped) return;
      tick();
      if (!stopped) schedule();
    }, delay);
  };
  schedule();
  return () => {
    stopped = true;
    clock.clearTimeout(handle);
  };
}
