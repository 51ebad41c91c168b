import type { Clock } from "../../src/util/clock.js";

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A clock the test moves by hand. `advance` runs due timers in time order; `jump` moves
 * the wall clock without running anything (a suspended or throttled page), so the next
 * `advance(0)` runs the overdue timers late, as a background tab would.
 */
export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: Timer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, delayMs), callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Delays from now of the pending timers, soonest first. */
  pending(): number[] {
    return this.timers.map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      const due = this.timers
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.callback();
    }
    this.time = target;
  }

  /** Runs the soonest timer, moving time to it; returns the delay it had, or undefined. */
  runNext(): number | undefined {
    const delay = this.pending()[0];
    if (delay === undefined) return undefined;
    this.advance(delay);
    return delay;
  }

  /** Moves the wall clock without running timers. */
  jump(ms: number): void {
    this.time += ms;
  }
}
