import { describe, expect, it } from "vitest";
import { createHeartbeatMonitor, type HeartbeatTarget } from "../src/heartbeat.js";
import { createFakeClock, type FakeClock } from "./helpers.js";

function setup(clock: FakeClock, intervalMs: number, timeoutMs: number) {
  const pings: number[] = [];
  const expired: number[] = [];
  const monitor = createHeartbeatMonitor<HeartbeatTarget>({
    clock,
    intervalMs,
    timeoutMs,
    ping: () => pings.push(clock.now()),
    expire: (_target, silentMs) => expired.push(silentMs),
  });
  const target: HeartbeatTarget = {
    lastActivityAt: clock.now(),
    nextPingAt: 0,
    heartbeatIndex: -1,
  };
  return { pings, expired, monitor, target };
}

describe("heartbeat monitor", () => {
  it("pings every interval", () => {
    const clock = createFakeClock(0);
    const h = setup(clock, 1000, 500);
    h.monitor.add(h.target);
    clock.advance(999);
    expect(h.pings).toEqual([]);
    clock.advance(1);
    expect(h.pings).toEqual([1000]);
    h.target.lastActivityAt = clock.now();
    clock.advance(1000);
    expect(h.pings).toEqual([1000, 2000]);
    h.monitor.stop();
  });

  it("expires a peer silent for interval + timeout, then stops its timer", () => {
    const clock = createFakeClock(0);
    const h = setup(clock, 1000, 500);
    h.monitor.add(h.target);
    clock.advance(1499);
    expect(h.expired).toEqual([]);
    clock.advance(h.monitor.resolutionMs);
    expect(h.expired).toHaveLength(1);
    expect(h.expired[0]).toBeGreaterThanOrEqual(1500);
    expect(h.expired[0]).toBeLessThanOrEqual(1500 + h.monitor.resolutionMs);
    expect(clock.pending).toBe(0);
  });

  it("keeps a peer that answers alive", () => {
    const clock = createFakeClock(0);
    const h = setup(clock, 1000, 500);
    h.monitor.add(h.target);
    for (let i = 0; i < 20; i += 1) {
      clock.advance(1000);
      h.target.lastActivityAt = clock.now();
    }
    expect(h.expired).toEqual([]);
    expect(h.pings).toHaveLength(20);
    h.monitor.remove(h.target);
    expect(clock.pending).toBe(0);
  });

  it("is at most its resolution late for a target added between sweeps", () => {
    const clock = createFakeClock(0);
    const h = setup(clock, 25_000, 20_000);
    expect(h.monitor.resolutionMs).toBe(1000);
    h.monitor.add({ lastActivityAt: 0, nextPingAt: 0, heartbeatIndex: -1 });
    clock.advance(300);
    h.target.lastActivityAt = clock.now();
    h.monitor.add(h.target);
    clock.advance(25_000);
    expect(h.pings).toEqual([25_000]);
    clock.advance(1000);
    expect(h.pings).toEqual([25_000, 26_000]);
    h.monitor.stop();
  });

  it("is off when the interval is 0", () => {
    const clock = createFakeClock(0);
    const h = setup(clock, 0, 500);
    h.monitor.add(h.target);
    clock.advance(10_000);
    expect(h.pings).toEqual([]);
    expect(h.expired).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it("removes and expires targets in any order without skipping the others", () => {
    const clock = createFakeClock(0);
    const h = setup(clock, 1000, 500);
    const targets = Array.from({ length: 6 }, () => ({
      lastActivityAt: 0,
      nextPingAt: 0,
      heartbeatIndex: -1,
    }));
    for (const t of targets) h.monitor.add(t);
    h.monitor.remove(targets[1] as HeartbeatTarget);
    h.monitor.remove(targets[4] as HeartbeatTarget);
    clock.advance(1000);
    expect(h.pings).toHaveLength(4);
    const alive = targets[2] as HeartbeatTarget;
    alive.lastActivityAt = clock.now();
    clock.advance(1000);
    expect(h.expired).toHaveLength(3);
    expect(alive.heartbeatIndex).toBe(0);
    expect(targets[0]?.heartbeatIndex).toBe(-1);
    h.monitor.stop();
    expect(alive.heartbeatIndex).toBe(-1);
  });
});
