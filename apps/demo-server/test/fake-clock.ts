import type { Clock } from "../src/clock.js";

export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void;
  /** Timers not yet run. */
  readonly pending: number;
}

/** A deterministic clock: time moves only through `advance`. */
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
          if (
            timer.at <= until &&
            (due === undefined || timer.at < due.at || (timer.at === due.at && timer.seq < due.seq))
          )
            due = timer;
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
