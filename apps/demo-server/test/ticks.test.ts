import { createFakeClock } from "@lifeline/test-support";
import { describe, expect, it } from "vitest";
import { createTicks } from "../src/ticks.js";

/** Lets pending promise callbacks run (publishes resolve asynchronously). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
};

async function run(clock: ReturnType<typeof createFakeClock>, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    clock.advance(100);
    await settle();
  }
}

describe("ticks", () => {
  it("publishes n rising by one at 10 Hz, only while there is demand", async () => {
    const clock = createFakeClock();
    const log: number[] = [];
    const ticks = createTicks({
      clock,
      publish: async (tick) => {
        log.push(tick.n);
      },
      lastPublished: async () => log.at(-1) ?? 0,
    });
    await run(clock, 1000);
    expect(log).toEqual([]);
    ticks.setDemand(true);
    await run(clock, 1000);
    expect(log).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    ticks.setDemand(false);
    await run(clock, 1000);
    expect(log).toHaveLength(10);
    expect(clock.pending).toBe(0);
    ticks.setDemand(true);
    await run(clock, 300);
    expect(log.slice(10)).toEqual([11, 12, 13]);
    await ticks.close();
  });

  it("continues from the last n in the log (a restarted process, a new lease holder)", async () => {
    const clock = createFakeClock();
    const log: number[] = [41];
    const ticks = createTicks({
      clock,
      publish: async (tick) => {
        log.push(tick.n);
      },
      lastPublished: async () => log.at(-1) ?? 0,
    });
    ticks.setDemand(true);
    await run(clock, 300);
    expect(log).toEqual([41, 42, 43, 44]);
    await ticks.close();
  });

  it("never skips or repeats n when publishes fail, even if the outcome was unknown", async () => {
    const clock = createFakeClock();
    const log: number[] = [];
    let call = 0;
    const errors: unknown[] = [];
    const ticks = createTicks({
      clock,
      publish: async (tick) => {
        call += 1;
        if (call === 3) throw new Error("redis_unavailable");
        if (call === 5) {
          log.push(tick.n); // appended, but the reply was lost
          throw new Error("redis_outcome_unknown");
        }
        log.push(tick.n);
      },
      lastPublished: async () => log.at(-1) ?? 0,
      onError: (error) => errors.push(error),
    });
    ticks.setDemand(true);
    await run(clock, 1500);
    expect(errors).toHaveLength(2);
    expect(log.length).toBeGreaterThan(8);
    log.forEach((n, i) => {
      expect(n).toBe(i + 1);
    });
    await ticks.close();
  });

  it("stops producing when it loses permission and re-reads the count when it regains it", async () => {
    const clock = createFakeClock();
    const log: number[] = [];
    const ticks = createTicks({
      clock,
      publish: async (tick) => {
        log.push(tick.n);
      },
      lastPublished: async () => log.at(-1) ?? 0,
    });
    ticks.setDemand(true);
    await run(clock, 300);
    ticks.setProducing(false);
    log.push(4, 5); // another node held the lease meanwhile
    await run(clock, 300);
    expect(log).toEqual([1, 2, 3, 4, 5]);
    ticks.setProducing(true);
    await run(clock, 200);
    expect(log).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await ticks.close();
  });
});
