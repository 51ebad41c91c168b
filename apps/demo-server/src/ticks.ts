import { type Clock, every } from "./clock.js";
import { TICKS_TOPIC, type Tick } from "./contract.js";

export interface TicksOptions {
  readonly clock: Clock;
  /** Appends one tick; resolves once it is in the topic's log. */
  readonly publish: (tick: Tick) => Promise<unknown>;
  /**
   * The `n` of the last tick in the topic's log (0 when empty), so a restarted process or
   * a new lease holder continues the count instead of restarting it.
   */
  readonly lastPublished: () => Promise<number>;
  /** @default 100 (10 Hz) */
  readonly intervalMs?: number;
  /** Told about failed publishes (Redis down, server closing). */
  readonly onError?: (error: unknown) => void;
}

export interface Ticks {
  readonly topic: string;
  /** Runs while both demand and permission to produce are true. */
  setDemand(active: boolean): void;
  setProducing(producing: boolean): void;
  /** The next n to be published, or undefined before the first sync with the log. */
  readonly next: number | undefined;
  /** Stops the timer and waits for a publish in flight. */
  close(): Promise<void>;
}

/**
 * `demo/ticks`: `{ n }` at 10 Hz, n rising by one per message. A tick is published only
 * after the previous one was appended, and n advances only on success: after a failure
 * (whose outcome may be unknown) the count is read back from the log before going on, so
 * the log never holds a gap or a repeated n.
 */
export function createTicks(options: TicksOptions): Ticks {
  const { clock } = options;
  const intervalMs = options.intervalMs ?? 100;
  let demand = false;
  let producing = true;
  let closed = false;
  let next: number | undefined;
  let inFlight: Promise<void> | undefined;
  let stopLoop: (() => void) | undefined;

  /** Bumped whenever the count must be read back from the log; stale results are dropped. */
  let generation = 0;

  async function publishOne(): Promise<void> {
    const gen = generation;
    try {
      const n = next ?? (await options.lastPublished()) + 1;
      if (gen !== generation || closed || !demand || !producing) return;
      next = n;
      await options.publish({ n });
      if (gen === generation) next = n + 1;
    } catch (error) {
      if (gen === generation) {
        generation += 1;
        next = undefined;
      }
      options.onError?.(error);
    }
  }

  function tick(): void {
    // A slow append (Redis hiccup) skips ticks instead of queueing them.
    if (inFlight !== undefined) return;
    inFlight = publishOne().finally(() => {
      inFlight = undefined;
    });
  }

  function update(): void {
    const wanted = demand && producing && !closed;
    if (wanted && stopLoop === undefined) {
      stopLoop = every(clock, intervalMs, tick);
    } else if (!wanted && stopLoop !== undefined) {
      stopLoop();
      stopLoop = undefined;
    }
  }

  return {
    topic: TICKS_TOPIC,
    setDemand(active) {
      demand = active;
      update();
    },
    setProducing(allowed) {
      if (allowed !== producing) {
        // Another holder may have produced meanwhile: read the count back before going on.
        generation += 1;
        next = undefined;
      }
      producing = allowed;
      update();
    },
    get next() {
      return next;
    },
    async close() {
      closed = true;
      update();
      await inFlight;
    },
  };
}
