import { describe, expect, it } from "vitest";
import { createThrottle, type ThrottleClock } from "../src/monitor/throttle.js";

function manualClock() {
  let now = 0;
  const timers: { at: number; run: () => void }[] = [];
  const clock: ThrottleClock = {
    now: () => now,
    setTimeout: (run, ms) => {
      const timer = { at: now + ms, run };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (handle) => {
      timers.splice(timers.indexOf(handle as (typeof timers)[number]), 1);
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const timer of timers.filter((t) => t.at <= now)) {
      timers.splice(timers.indexOf(timer), 1);
      timer.run();
    }
  };
  return { clock, advance };
}

describe("createThrottle", () => {
  it("runs at most once per interval however often it is asked", () => {
    const { clock, advance } = manualClock();
    let runs = 0;
    const throttle = createThrottle(() => runs++, 100, clock);
    throttle.request();
    expect(runs).toBe(1);
    for (let i = 0; i < 50; i++) {
      throttle.request();
      advance(10);
    }
    // 500 ms of requests every 10 ms: the first run plus one per 100 ms.
    expect(runs).toBe(6);
  });

  it("runs nothing after stop", () => {
    const { clock, advance } = manualClock();
    let runs = 0;
    const throttle = createThrottle(() => runs++, 100, clock);
    throttle.request();
    throttle.request();
    throttle.stop();
    advance(200);
    throttle.request();
    expect(runs).toBe(1);
  });
});
