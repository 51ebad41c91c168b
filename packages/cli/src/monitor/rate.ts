const SLOT_MS = 500;
const SLOTS = 10;

/**
 * Messages per second over the last 5 seconds, in ten 500 ms slots: constant memory
 * whatever the rate, and a reading that settles within a few redraws.
 */
export class RateMeter {
  private readonly slots = new Array<number>(SLOTS).fill(0);
  private slot: number | undefined;
  private readonly startedAt: number;

  constructor(now: number) {
    this.startedAt = now;
  }

  hit(now: number): void {
    this.advance(now);
    const index = Math.floor(now / SLOT_MS) % SLOTS;
    this.slots[index] = (this.slots[index] ?? 0) + 1;
  }

  perSecond(now: number): number {
    this.advance(now);
    const total = this.slots.reduce((sum, n) => sum + n, 0);
    // The slots cover 4.5 s plus the current slot's elapsed part; until then, the time watched.
    const coveredMs = (SLOTS - 1) * SLOT_MS + (now % SLOT_MS);
    const windowMs = Math.max(1, Math.min(coveredMs, now - this.startedAt));
    return (total * 1000) / windowMs;
  }

  /** Zeroes the slots that the clock has moved past since the last call. */
  private advance(now: number): void {
    const current = Math.floor(now / SLOT_MS);
    if (this.slot === undefined) {
      this.slot = current;
      return;
    }
    const passed = Math.min(SLOTS, current - this.slot);
    for (let i = 1; i <= passed; i++) this.slots[(this.slot + i) % SLOTS] = 0;
    if (current > this.slot) this.slot = current;
  }
}
