/** The timers `createThrottle` needs; tests pass a manual clock. */
export interface ThrottleClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: ThrottleClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface Throttle {
  /** Runs the task now, or once when `minIntervalMs` has passed since the last run. */
  request(): void;
  stop(): void;
}

/** Any number of requests, at most one run per `minIntervalMs` (10 redraws/s at 100 ms). */
export function createThrottle(
  task: () => void,
  minIntervalMs: number,
  clock: ThrottleClock = systemClock,
): Throttle {
  let lastRun = Number.NEGATIVE_INFINITY;
  let pending: unknown;
  let stopped = false;
  const run = () => {
    pending = undefined;
    lastRun = clock.now();
    task();
  };
  return {
    request() {
      if (stopped || pending !== undefined) return;
      const wait = lastRun + minIntervalMs - clock.now();
      if (wait <= 0) run();
      else pending = clock.setTimeout(run, wait);
    },
    stop() {
      stopped = true;
      if (pending !== undefined) clock.clearTimeout(pending);
      pending = undefined;
    },
  };
}
