import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDeltaStates } from "../../src/index.js";

type State = Record<string, unknown>;

/** The JSON Merge Patch (RFC 7386) that turns `from` into `to`: what a publisher sends. */
function diff(from: State, to: State): State {
  const patch: State = {};
  for (const name of Object.keys(from)) if (!(name in to)) patch[name] = null;
  for (const [name, value] of Object.entries(to)) {
    const before = from[name];
    if (isObject(before) && isObject(value)) {
      const inner = diff(before, value);
      if (Object.keys(inner).length > 0) patch[name] = inner;
    } else if (JSON.stringify(before) !== JSON.stringify(value)) {
      patch[name] = value;
    }
  }
  return patch;
}

function isObject(value: unknown): value is State {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** States as a publisher holds them: no null values (a merge patch reads null as delete). */
const leaf = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const names = fc.constantFrom("a", "b", "c", "d");
const state: fc.Arbitrary<State> = fc.dictionary(
  names,
  fc.oneof(leaf, fc.dictionary(names, leaf, { maxKeys: 3 })),
  { maxKeys: 4 },
);

describe("createDeltaStates", () => {
  it("rebuilds the last full state from a full state and the deltas after it", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(state, fc.boolean()), { minLength: 1, maxLength: 30 }),
        (steps) => {
          const states = createDeltaStates<State>();
          let previous: State | undefined;
          for (const [next, sendFull] of steps) {
            const data =
              previous === undefined || sendFull
                ? { key: "k", full: next }
                : { key: "k", changes: diff(previous, next) };
            const update = states.apply(data);
            expect(update?.state).toEqual(next);
            previous = next;
          }
          expect(states.get("k")).toEqual(steps.at(-1)?.[0]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never mutates a state it returned, and keeps unchanged parts by reference", () => {
    const states = createDeltaStates<State>();
    const first = states.apply({ key: "k", full: { a: { x: 1 }, b: { y: 2 } } })?.state;
    const frozen = JSON.stringify(first);
    const second = states.apply({ key: "k", changes: { a: { x: 3 } } })?.state;
    expect(JSON.stringify(first)).toBe(frozen);
    expect(second).toEqual({ a: { x: 3 }, b: { y: 2 } });
    expect(second?.b).toBe(first?.b);
  });

  it("ignores changes to a key it has no state for until a full state arrives", () => {
    const states = createDeltaStates<State>();
    expect(states.apply({ key: "k", changes: { a: 1 } })).toBeUndefined();
    expect(states.get("k")).toBeUndefined();
    states.apply({ key: "k", full: { a: 0 } });
    states.reset();
    expect(states.apply({ key: "k", changes: { a: 1 } })).toBeUndefined();
    expect(states.apply({ key: "k", full: { a: 2 } })).toEqual({ key: "k", state: { a: 2 } });
    expect([...states.entries()]).toEqual([["k", { a: 2 }]]);
  });

  it("refuses data that is not a delta message with a clear error", () => {
    const states = createDeltaStates();
    expect(() => states.apply({ full: 1 })).toThrow(/string key, got an object with full/);
    expect(() => states.apply(null)).toThrow(/got null/);
    expect(() => states.apply({ key: "k", changes: [1] })).toThrow(TypeError);
  });
});
