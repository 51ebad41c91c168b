import { type RedisServer, startRedisServer } from "@lifeline/test-support";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLease, type Lease, type LeaseOptions } from "../src/index.js";
import { within } from "./helpers.js";

let server: RedisServer;
const disposers: (() => Promise<void>)[] = [];
let nameSeq = 0;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.dispose();
});

afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

/** A lease whose `onChange` events can be awaited. */
function lease(
  options: Omit<LeaseOptions, "onChange"> & { onEvent?: (held: boolean) => void },
): Lease & { next(held: boolean): Promise<void> } {
  const { onEvent, ...leaseOptions } = options;
  const waiters: { held: boolean; resolve: () => void }[] = [];
  const l = createLease({
    url: server.url,
    ...leaseOptions,
    onChange(held) {
      onEvent?.(held);
      for (const waiter of waiters.filter((w) => w.held === held)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
  });
  disposers.push(() => l.close());
  return Object.assign(l, {
    next(held: boolean) {
      if (l.held === held) return Promise.resolve();
      return within(
        new Promise<void>((resolve) => waiters.push({ held, resolve })),
        `lease ${options.name} held=${held}`,
        5000,
      );
    },
  });
}

function leaseName(): string {
  nameSeq++;
  return `job-${nameSeq}`;
}

describe("lease", () => {
  it("is held by exactly one of several candidates and renewed past its ttl", async () => {
    const name = leaseName();
    const changes: string[] = [];
    const candidates = [0, 1, 2].map((i) =>
      lease({
        name,
        ttlMs: 300,
        renewEveryMs: 50,
        onEvent: (held) => changes.push(`${i}:${held}`),
      }),
    );
    await within(Promise.race(candidates.map((c) => c.next(true))), "one holder", 5000);
    const r = new Redis(server.url);
    disposers.push(async () => r.disconnect());
    // Outlive three ttls on Redis's clock: the holder keeps renewing, nobody else gets it.
    const redisNow = async () => {
      const [s, us] = await r.time();
      return Number(s) * 1000 + Math.floor(Number(us) / 1000);
    };
    const until = (await redisNow()) + 900;
    for (let i = 0; i < 100_000 && (await redisNow()) < until; i++) {}
    expect(candidates.filter((c) => c.held)).toHaveLength(1);
    expect(changes).toHaveLength(1);
    expect(await r.pttl(`lifeline:lease:${name}`)).toBeGreaterThan(0);
  });

  it("is taken over by another candidate after the holder dies without releasing", async () => {
    const name = leaseName();
    const holderRedis = new Redis(server.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    disposers.push(async () => holderRedis.disconnect());
    const order: string[] = [];
    const holder = lease({
      name,
      redis: holderRedis,
      ttlMs: 300,
      renewEveryMs: 50,
      onEvent: (h) => order.push(`holder:${h}`),
    });
    await holder.next(true);
    const successor = lease({
      name,
      ttlMs: 300,
      renewEveryMs: 50,
      onEvent: (h) => order.push(`successor:${h}`),
    });
    expect(successor.held).toBe(false);

    const startedAt = Date.now();
    holderRedis.disconnect();
    // The dead holder stops believing it holds the lease before anyone else can get it.
    await holder.next(false);
    await successor.next(true);
    expect(order).toEqual(["holder:true", "holder:false", "successor:true"]);
    // Measured 360 ms (ttl 300 plus the successor's next attempt): twice that is the bound.
    expect(Date.now() - startedAt).toBeLessThan(750);
  });

  it("is released on close so a waiting candidate takes it at its next attempt", async () => {
    const name = leaseName();
    const first = lease({ name, ttlMs: 60_000, renewEveryMs: 50 });
    await first.next(true);
    const second = lease({ name, ttlMs: 60_000, renewEveryMs: 50 });
    await first.close();
    expect(first.held).toBe(false);
    await second.next(true);
    expect(second.held).toBe(true);
  });

  it("drops the lease at sentAt + ttl by its clock when renewals stop answering", async () => {
    const name = leaseName();
    const ttlMs = 5000;
    const renewEveryMs = 1000;
    let now = 1_000_000;
    const timers = new Map<number, { at: number; delayMs: number; fn: () => void }>();
    let timerSeq = 0;
    let scheduled = () => {};
    const clock = {
      now: () => now,
      setTimeout(fn: () => void, delayMs: number) {
        timerSeq++;
        timers.set(timerSeq, { at: now + delayMs, delayMs, fn });
        scheduled();
        return timerSeq;
      },
      clearTimeout(handle: unknown) {
        timers.delete(handle as number);
      },
    };
    /** Fires due timers in order; after an attempt timer, waits for its Redis round trip (it schedules the next). */
    async function advance(toMs: number) {
      for (let i = 0; i < 100; i++) {
        const due = [...timers.entries()]
          .filter(([, t]) => t.at <= toMs)
          .sort((x, y) => x[1].at - y[1].at)[0];
        if (due === undefined) break;
        const [handle, timer] = due;
        timers.delete(handle);
        now = Math.max(now, timer.at);
        const isAttempt = timer.delayMs <= renewEveryMs;
        const next = new Promise<void>((resolve) => {
          scheduled = resolve;
        });
        timer.fn();
        if (isAttempt) await within(next, "the next lease attempt to be scheduled", 5000);
      }
      now = toMs;
    }
    const r = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
    disposers.push(async () => r.disconnect());
    await within(new Promise((resolve) => r.once("ready", resolve)), "redis ready", 5000);
    const changes: boolean[] = [];
    const l = createLease({
      name,
      redis: r,
      ttlMs,
      renewEveryMs,
      clock,
      onChange: (h) => changes.push(h),
    });
    disposers.push(() => l.close());
    const acquiredAt = now;
    await advance(now);
    expect(l.held).toBe(true);
    await advance(acquiredAt + 2 * renewEveryMs);
    const renewedAt = acquiredAt + 2 * renewEveryMs;
    r.disconnect();
    // Renewal attempts now fail at once; only the clock decides when the term ends.
    await advance(renewedAt + ttlMs - 1);
    expect(l.held).toBe(true);
    await advance(renewedAt + ttlMs);
    expect(l.held).toBe(false);
    expect(changes).toEqual([true, false]);
  });
});
