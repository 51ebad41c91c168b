import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decorrelated, exponential, table } from "../src/policies.js";
import { presets } from "../src/presets.js";
import { seededRandom } from "../src/random.js";
import { createSchedule, delayFor } from "../src/schedules.js";

const drain = (schedule: ReturnType<typeof createSchedule>, limit = 10_000): number[] => {
  const delays: number[] = [];
  for (let i = 0; i < limit; i++) {
    const d = schedule.next();
    if (d === undefined) break;
    delays.push(d);
  }
  return delays;
};

const policyArb = fc.oneof(
  fc
    .record({
      baseMs: fc.integer({ min: 0, max: 10_000 }),
      factor: fc.double({ min: 1, max: 4, noNaN: true }),
      capMs: fc.integer({ min: 0, max: 120_000 }),
      maxAttempts: fc.integer({ min: 0, max: 50 }),
      jitter: fc.constantFrom("none", "full", "equal" as const),
    })
    .map((o) => exponential(o)),
  fc
    .record({
      baseMs: fc.integer({ min: 0, max: 5_000 }),
      capMs: fc.integer({ min: 5_000, max: 120_000 }),
      maxAttempts: fc.integer({ min: 0, max: 50 }),
    })
    .map((o) => decorrelated(o)),
  fc
    .record({
      delaysMs: fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 8 }),
      jitterRatio: fc.double({ min: 0, max: 1, noNaN: true }),
      floorMs: fc.integer({ min: 0, max: 1_000 }),
      capMs: fc.integer({ min: 1_000, max: 120_000 }),
      maxAttempts: fc.integer({ min: 0, max: 50 }),
    })
    .map((o) => table(o)),
);

describe("exponential", () => {
  it("grows by the factor up to the cap without jitter", () => {
    const s = createSchedule(
      exponential({ baseMs: 100, factor: 2, capMs: 1000, maxAttempts: 6, jitter: "none" }),
    );
    expect(drain(s)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("full jitter stays in [0, ceiling) and equal jitter in [ceiling/2, ceiling]", () => {
    const full = exponential({ baseMs: 1000, jitter: "full" });
    const equal = exponential({ baseMs: 1000, jitter: "equal" });
    expect(delayFor(full, 3, () => 0)).toBe(0);
    expect(delayFor(full, 3, () => 0.999999)).toBe(7999);
    expect(delayFor(equal, 3, () => 0)).toBe(4000);
    expect(delayFor(equal, 3, () => 0.5)).toBe(6000);
  });

  it("has the documented defaults", () => {
    expect(exponential()).toEqual({
      kind: "exponential",
      baseMs: 1000,
      factor: 2,
      capMs: 30_000,
      maxAttempts: 10,
      jitter: "full",
    });
  });

  it("never overflows at huge attempt numbers", () => {
    const policy = exponential({ jitter: "none", maxAttempts: Number.POSITIVE_INFINITY });
    expect(delayFor(policy, 1e9, Math.random)).toBe(30_000);
  });
});

describe("decorrelated", () => {
  it("draws from [base, 3 * previous] and respects the cap", () => {
    const policy = decorrelated({ baseMs: 100, capMs: 1000 });
    expect(delayFor(policy, 0, () => 0)).toBe(100);
    expect(delayFor(policy, 1, () => 1, 200)).toBe(600);
    expect(delayFor(policy, 2, () => 1, 900)).toBe(1000);
  });
});

describe("table", () => {
  it("walks the table, reuses its last entry and applies the ratio, floor and cap", () => {
    const policy = table({
      delaysMs: [50, 1000, 20_000],
      jitterRatio: 0.2,
      floorMs: 100,
      capMs: 12_000,
      maxAttempts: 5,
    });
    expect(delayFor(policy, 0, () => 0.5)).toBe(100); // floor
    expect(delayFor(policy, 1, () => 0)).toBe(800); // -20 %
    expect(delayFor(policy, 1, () => 1)).toBe(1200); // +20 %
    expect(delayFor(policy, 4, () => 0.5)).toBe(12_000); // cap, last entry reused
  });

  it("has the documented preset", () => {
    expect(presets.table).toMatchObject({
      delaysMs: [1000, 2000, 4000, 8000, 12_000],
      jitterRatio: 0.2,
      floorMs: 100,
      capMs: 12_000,
      maxAttempts: 8,
    });
    expect(presets.aggressive).toMatchObject({ capMs: 4000, maxAttempts: 10 });
    const immediate = drain(createSchedule(presets.immediate, { random: seededRandom(1) }));
    expect(immediate).toHaveLength(10);
    for (const d of immediate) {
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(120);
    }
  });
});

describe("validation", () => {
  it("refuses nonsense with a RangeError naming the field", () => {
    expect(() => exponential({ factor: 0.5 })).toThrow(/factor/);
    expect(() => exponential({ maxAttempts: -1 })).toThrow(/maxAttempts/);
    expect(() => exponential({ maxAttempts: 1.5 })).toThrow(/maxAttempts/);
    expect(() => table({ delaysMs: [] })).toThrow(/delaysMs/);
    expect(() => table({ jitterRatio: 2 })).toThrow(/jitterRatio/);
    expect(() => decorrelated({ baseMs: 5000, capMs: 10 })).toThrow(/baseMs/);
    expect(() => exponential({ capMs: Number.NaN })).toThrow(/capMs/);
  });
});

describe("schedule", () => {
  it("counts attempts, ends, and starts over on reset", () => {
    const s = createSchedule(exponential({ maxAttempts: 3 }), { random: seededRandom(7) });
    expect(s.attempt).toBe(0);
    expect(drain(s)).toHaveLength(3);
    expect(s.exhausted).toBe(true);
    expect(s.next()).toBeUndefined();
    s.reset();
    expect(s.exhausted).toBe(false);
    expect(s.next()).toBeTypeOf("number");
    expect(s.attempt).toBe(1);
  });

  it("allows Infinity attempts", () => {
    const s = createSchedule(exponential({ maxAttempts: Number.POSITIVE_INFINITY }));
    expect(drain(s, 500)).toHaveLength(500);
    expect(s.exhausted).toBe(false);
  });
});

describe("properties", () => {
  it("every delay is within [floor, cap] and an integer", () => {
    fc.assert(
      fc.property(policyArb, fc.integer(), (policy, seed) => {
        const floor =
          policy.kind === "table"
            ? policy.floorMs
            : policy.kind === "decorrelated"
              ? policy.baseMs
              : 0;
        for (const d of drain(createSchedule(policy, { random: seededRandom(seed) }))) {
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(Math.min(floor, policy.capMs));
          expect(d).toBeLessThanOrEqual(policy.capMs);
        }
      }),
    );
  });

  it("ends after exactly maxAttempts", () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        expect(drain(createSchedule(policy))).toHaveLength(policy.maxAttempts);
      }),
    );
  });

  it("the same seed gives the same sequence", () => {
    fc.assert(
      fc.property(policyArb, fc.integer(), (policy, seed) => {
        const a = drain(createSchedule(policy, { random: seededRandom(seed) }));
        const b = drain(createSchedule(policy, { random: seededRandom(seed) }));
        expect(a).toEqual(b);
      }),
    );
  });
});
