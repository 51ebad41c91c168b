import { describe, expect, it } from "vitest";
import { startHeartbeat } from "../src/heartbeat.js";
import { createFakeClock } from "./helpers.js";

function target(clock: ReturnType<typeof createFakeClock>) {
  let lastSeen = clock.now();
  const pings: number[] = [];
  const expired: number[] = [];
  return {
    pings,
    expired,
    seen: () => {
      lastSeen = clock.now();
    },
    target: {
      lastSeenAt: () => lastSeen,
      ping: () => pings.push(clock.now()),
      expire: (silentMs: number) => expired.push(silentMs),
    },
  };
}

describe("heartbeat", () => {
  it("pings every interval", () => {
    const clock = createFakeClock(0);
    const t = target(clock);
    const stop = startHeartbeat(t.target, clock, 100, 50);
    clock.advance(99);
    expect(t.pings).toEqual([]);
    clock.advance(1);
    expect(t.pings).toEqual([100]);
    t.seen();
    clock.advance(100);
    expect(t.pings).toEqual([100, 200]);
    stop();
  });

  it("expires a peer silent for interval + timeout", () => {
    const clock = createFakeClock(0);
    const t = target(clock);
    startHeartbeat(t.target, clock, 100, 50);
    clock.advance(149);
    expect(t.expired).toEqual([]);
    clock.advance(1);
    expect(t.expired).toEqual([150]);
    expect(clock.pending).toBe(0);
  });

  it("keeps a peer that answers alive", () => {
    const clock = createFakeClock(0);
    const t = target(clock);
    const stop = startHeartbeat(t.target, clock, 100, 50);
    for (let i = 0; i < 20; i += 1) {
      clock.advance(100);
      t.seen();
    }
    expect(t.expired).toEqual([]);
    expect(t.pings).toHaveLength(20);
    stop();
    expect(clock.pending).toBe(0);
  });

  it("is off when the interval is 0", () => {
    const clock = createFakeClock(0);
    const t = target(clock);
    startHeartbeat(t.target, clock, 0, 50);
    clock.advance(10_000);
    expect(t.pings).toEqual([]);
    expect(t.expired).toEqual([]);
  });
});
