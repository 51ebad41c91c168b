import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  isMethodName,
  isTopicName,
  METHOD_NAME_PATTERN,
  patternEngine,
  TOPIC_NAME_PATTERN,
} from "../src/patterns.js";

const cases = [
  ["topic", isTopicName, new RegExp(TOPIC_NAME_PATTERN, "u"), "_.:@-/"],
  ["method", isMethodName, new RegExp(METHOD_NAME_PATTERN, "u"), "_.:/-@"],
] as const;

describe.each(cases)("%s matcher", (_, matcher, regExp, specials) => {
  const alphabet = fc.constantFrom(..."aZ09", ...specials, " ", "é", "\u0000", "\u{1f52d}", "~");
  const nearMiss = fc.array(alphabet, { maxLength: 12 }).map((chars) => chars.join(""));

  test("agrees with its RegExp on strings built from the pattern's alphabet", () => {
    fc.assert(
      fc.property(nearMiss, (text) => {
        expect(matcher(text)).toBe(regExp.test(text));
      }),
      { numRuns: 5000 },
    );
  });

  test("agrees with its RegExp on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        expect(matcher(text)).toBe(regExp.test(text));
      }),
      { numRuns: 2000 },
    );
  });
});

test("topic names are non-empty segments joined by single slashes", () => {
  for (const ok of ["a", "a/b", "telescope/seestar-001/status", "x.y:z@w-v_u"]) {
    expect(isTopicName(ok)).toBe(true);
  }
  for (const bad of ["", "/", "/a", "a/", "a//b", "a b", "a*", "é"]) {
    expect(isTopicName(bad)).toBe(false);
  }
});

test("the engine prints each matcher like its RegExp and falls back to RegExp", () => {
  // Ajv keys compiled patterns by toString(): two matchers printing alike would collide.
  expect(String(patternEngine(TOPIC_NAME_PATTERN, "u"))).toBe(`/${TOPIC_NAME_PATTERN}/u`);
  expect(String(patternEngine(METHOD_NAME_PATTERN, "u"))).toBe(`/${METHOD_NAME_PATTERN}/u`);
  const other = patternEngine("^a+$", "u");
  expect(other).toBeInstanceOf(RegExp);
  expect(other.test("aaa")).toBe(true);
});
