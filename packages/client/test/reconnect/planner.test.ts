import { exponential, seededRandom, table } from "@lifeline/backoff";
import { describe, expect, it } from "vitest";
import { createReconnectPlanner, defaultBackoff } from "../../src/reconnect/planner.js";

const fixed = (value: number) => () => value;

describe("createReconnectPlanner", () => {
  it("follows exponential full jitter from 1 s up to the 30 s cap, then stops after 10", () => {
    const planner = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.999) });
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      const plan = planner.plan({ code: 1006 });
      if (!plan.retry) break;
      delays.push(plan.delayMs);
    }
    expect(delays).toEqual([999, 1998, 3996, 7992, 15984, 29970, 29970, 29970, 29970, 29970]);
    expect(planner.plan({ code: 1006 })).toEqual({
      retry: false,
      reason: "gave up after 10 attempts",
    });
  });

  it("jitters the first retry within 1 s", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const planner = createReconnectPlanner({
        policy: defaultBackoff(),
        random: seededRandom(seed),
      });
      const plan = planner.plan({ code: 1006 });
      expect(plan.retry && plan.delayMs).toBeGreaterThanOrEqual(0);
      expect(plan.retry && plan.delayMs).toBeLessThan(1000);
    }
  });

  it("starts over after reset()", () => {
    const planner = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.5) });
    planner.plan({});
    planner.plan({});
    expect(planner.attempt).toBe(2);
    planner.reset();
    expect(planner.attempt).toBe(0);
    expect(planner.plan({})).toEqual({ retry: true, delayMs: 500, attempt: 1 });
  });

  it.each([4400, 4401, 4403, 4409])("never retries fatal close %i", (code) => {
    const planner = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.5) });
    const plan = planner.plan({ code });
    expect(plan.retry).toBe(false);
    expect(planner.attempt).toBe(0);
  });

  it("does not retry a normal close from the server", () => {
    const planner = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.5) });
    expect(planner.plan({ code: 1000 }).retry).toBe(false);
  });

  it("waits at least reconnect_after_ms after a shutdown, plus jitter", () => {
    const low = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0) });
    const high = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.999) });
    expect(low.plan({ code: 1012, serverFloorMs: 4000 })).toMatchObject({ delayMs: 4000 });
    expect(high.plan({ code: 1012, serverFloorMs: 4000 })).toMatchObject({ delayMs: 5998 });
    // A small floor still spreads clients over at least one second.
    expect(high.plan({ code: 1012, serverFloorMs: 0 })).toMatchObject({ delayMs: 999 });
  });

  it.each([4429, 1013])("backs off harder after %i", (code) => {
    const planner = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.5) });
    const normal = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.5) });
    const slow = planner.plan({ code });
    const usual = normal.plan({ code: 1006 });
    expect(slow).toEqual({ retry: true, delayMs: 5000 + 500 * 3, attempt: 1 });
    expect(slow.retry && usual.retry && slow.delayMs > usual.delayMs).toBe(true);
  });

  it("backs off harder when the upgrade was refused for load (HTTP 429/503)", () => {
    const planner = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.5) });
    expect(planner.plan({ code: 1006, overloaded: true })).toEqual({
      retry: true,
      delayMs: 5000 + 500 * 3,
      attempt: 1,
    });
  });

  it("fails over without a delay or a step of the schedule", () => {
    const planner = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.5) });
    expect(planner.plan({ code: 1006, overloaded: true, failover: true })).toEqual({
      retry: true,
      delayMs: 0,
      attempt: 1,
    });
    // The round's last refusal takes the schedule's first step, as if nothing came before.
    expect(planner.plan({ code: 1006, overloaded: true })).toEqual({
      retry: true,
      delayMs: 5000 + 500 * 3,
      attempt: 2,
    });
  });

  it("still waits reconnect_after_ms when failing over after a shutdown", () => {
    const planner = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.5) });
    expect(planner.plan({ code: 1012, serverFloorMs: 800, failover: true })).toMatchObject({
      delayMs: 800 + 0.5 * 1000,
    });
  });

  it("does not fail over a fatal close", () => {
    const planner = createReconnectPlanner({ policy: defaultBackoff(), random: fixed(0.5) });
    expect(planner.plan({ code: 4401, failover: true }).retry).toBe(false);
  });

  it("caps the slow-down delay", () => {
    const planner = createReconnectPlanner({
      policy: exponential({ baseMs: 60_000, capMs: 60_000, jitter: "none" }),
      random: fixed(0.5),
      slowDown: { capMs: 90_000 },
    });
    expect(planner.plan({ code: 4429 })).toMatchObject({ delayMs: 90_000 });
  });

  it("accepts any backoff policy, with Infinity attempts", () => {
    const planner = createReconnectPlanner({
      policy: table({
        delaysMs: [100, 200],
        jitterRatio: 0,
        maxAttempts: Number.POSITIVE_INFINITY,
      }),
      random: fixed(0.5),
    });
    const delays = Array.from({ length: 50 }, () => {
      const plan = planner.plan({ code: 1006 });
      return plan.retry ? plan.delayMs : -1;
    });
    expect(delays.slice(0, 3)).toEqual([100, 200, 200]);
    expect(delays.every((d) => d > 0)).toBe(true);
  });
});
