/** What the ticks panel shows. */
export interface TickCounts {
  /** Ticks received. */
  readonly received: number;
  /** Values of n that never arrived (n jumped forward by more than one). */
  readonly gaps: number;
  /** Ticks whose n was not above the last one seen (delivered twice, or out of order). */
  readonly duplicates: number;
  /** Times the server said history was lost (new epoch), so counting restarted. */
  readonly resets: number;
  readonly last: number | undefined;
}

export interface TickCounter {
  observe(n: number): void;
  /** History was lost (the client's gap event): the next n starts a new run. */
  reset(): void;
  counts(): TickCounts;
}

/**
 * Counts what a subscriber would see if delivery were broken. `n` rises by one per
 * tick, so any jump is a lost message and any repeat a duplicate; both must stay 0
 * across reconnects, because the client resumes from its last offset. `from` continues
 * counts saved by an earlier page (a reload).
 */
export function createTickCounter(from?: TickCounts): TickCounter {
  let received = from?.received ?? 0;
  let gaps = from?.gaps ?? 0;
  let duplicates = from?.duplicates ?? 0;
  let resets = from?.resets ?? 0;
  let last = from?.last;
  return {
    observe(n) {
      received += 1;
      if (last !== undefined) {
        if (n <= last) {
          duplicates += 1;
          return;
        }
        gaps += n - last - 1;
      }
      last = n;
    },
    reset() {
      resets += 1;
      last = undefined;
    },
    counts: () => ({ received, gaps, duplicates, resets, last }),
  };
}
