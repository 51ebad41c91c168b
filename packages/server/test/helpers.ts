import type { Clock, TimerHandle } from "../src/clock.js";
import { createServer, type LifelineServer, type ServerOptions } from "../src/index.js";

export {
  captureLogs,
  connect,
  createDisposer,
  type LogCapture,
  ofType,
  openClient,
  type TestClient,
  within,
  wsUrl,
} from "@lifeline/test-support";

/** A clock the test advances by hand; the server's timers fire only when it does. */
export interface FakeClock extends Clock {
  advance(ms: number): void;
  readonly pending: number;
}

export function createFakeClock(start = 1_700_000_000_000): FakeClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => now,
    setTimeout(callback, delayMs) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, delayMs), callback });
      return id as TimerHandle;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const target = now + ms;
      // Bounded: each round fires at least one timer or stops.
      for (let round = 0; round < 100_000; round += 1) {
        let dueId: number | undefined;
        let dueAt = Number.POSITIVE_INFINITY;
        for (const [id, timer] of timers) {
          if (timer.at <= target && timer.at < dueAt) {
            dueAt = timer.at;
            dueId = id;
          }
        }
        if (dueId === undefined) break;
        const timer = timers.get(dueId);
        timers.delete(dueId);
        now = dueAt;
        timer?.callback();
      }
      now = target;
    },
    get pending() {
      return timers.size;
    },
  };
}

/** Starts a server on 127.0.0.1:0 with quiet logs unless a logger is given. */
export async function startServer<P = unknown>(
  options: ServerOptions<P> = {},
): Promise<LifelineServer<P>> {
  return createServer<P>({ logger: false, ...options });
}
