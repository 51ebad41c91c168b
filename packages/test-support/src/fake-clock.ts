/**
 * A deterministic clock: time moves only through `advance`. It fits the `Clock` parameter
 * of the server and of the demo (`now`, `setTimeout`, `clearTimeout`) structurally, so
 * tests drive their timers without fake timers, which would also freeze `ws`'s own.
 */
export interface FakeClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): number;
  clearTimeout(handle: unknown): void;
  /** Moves time forward by `ms`, running every timer that falls due, earliest first. */
  advance(ms: number): void;
  /** Timers not yet run. */
  readonly pending: number;
}

export function createFakeClock(start = 1_700_000_000_000): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; seq: number; callback: () => void }>();
  return {
    now: () => now,
    setTimeout(callback, delayMs) {
      seq += 1;
      timers.set(seq, { at: now + Math.max(0, delayMs), seq, callback });
      return seq;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const until = now + ms;
      // Bounded: a timer that re-arms itself at the same instant forever would stop here.
      for (let guard = 0; guard < 1_000_000; guard += 1) {
        let due: { at: number; seq: number; callback: () => void } | undefined;
        for (const timer of timers.values()) {
          // Timers due at the same instant run in the order they were set.
          if (timer.at <= until && (due === undefined || timer.at < due.at)) due = timer;
        }
        if (due === undefined) break;
        timers.delete(due.seq);
        now = due.at;
        due.callback();
      }
      now = until;
    },
    get pending() {
      return timers.size;
    },
  };
}
