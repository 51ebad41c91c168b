import { describe, expect, it } from "vitest";
import { createWatchdog } from "../../src/state/watchdog.js";
import { ManualClock } from "../helpers/manual-clock.js";

function setup(intervalMs = 25_000, graceMs = 10_000) {
  const clock = new ManualClock();
  const log: string[] = [];
  const watchdog = createWatchdog({
    clock,
    intervalMs,
    graceMs,
    lateTimerToleranceMs: 1000,
    onLate: () => log.push("late"),
    onRecovered: () => log.push("recovered"),
    probe: () => log.push("probe"),
    onDead: (silentForMs) => log.push(`dead ${silentForMs}`),
  });
  return { clock, log, watchdog };
}

describe("createWatchdog", () => {
  it("stays quiet while frames keep arriving", () => {
    const { clock, log, watchdog } = setup();
    for (let i = 0; i < 20; i++) {
      clock.advance(25_000);
      watchdog.touch(clock.now());
    }
    expect(log).toEqual([]);
    watchdog.stop();
  });

  it("probes at interval + grace/2 and declares the link dead at interval + grace", () => {
    const { clock, log } = setup();
    clock.advance(29_999);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(["late", "probe"]);
    clock.advance(4_999);
    expect(log).toEqual(["late", "probe"]);
    clock.advance(1);
    expect(log).toEqual(["late", "probe", "dead 35000"]);
    expect(clock.pending()).toEqual([]);
  });

  it("recovers when the probe is answered", () => {
    const { clock, log, watchdog } = setup();
    clock.advance(31_000);
    watchdog.touch(clock.now());
    clock.advance(10_000);
    expect(log).toEqual(["late", "probe", "recovered"]);
    watchdog.stop();
  });

  it("does not declare a live link dead because its own timer fired late (throttled tab)", () => {
    const { clock, log, watchdog } = setup();
    // The page sleeps for 5 minutes: the timer runs late, before the socket's queued frames.
    clock.jump(300_000);
    clock.advance(0);
    expect(log).toEqual(["late", "probe"]);
    // Throttled again: the next callback is also a minute late; still no verdict.
    clock.jump(60_000);
    clock.advance(0);
    expect(log).toEqual(["late", "probe", "probe"]);
    // The queued frames (and the probe's pong) arrive.
    watchdog.touch(clock.now());
    expect(log).toEqual(["late", "probe", "probe", "recovered"]);
    watchdog.stop();
  });

  it("still finds a dead link in a throttled tab, after one extra probe round", () => {
    const { clock, log } = setup();
    clock.jump(300_000);
    clock.advance(0);
    clock.jump(60_000);
    clock.advance(0);
    clock.jump(60_000);
    clock.advance(0);
    expect(log).toEqual(["late", "probe", "probe", "dead 420000"]);
  });

  it("check() reacts at once when the page becomes visible after a long silence", () => {
    const { clock, log, watchdog } = setup();
    clock.jump(40_000);
    watchdog.check();
    expect(log).toEqual(["late", "probe"]);
    watchdog.stop();
  });

  it("is disabled when the server announces no heartbeat", () => {
    const { clock, log } = setup(0);
    clock.advance(1_000_000);
    expect(log).toEqual([]);
    expect(clock.pending()).toEqual([]);
  });
});
