import { expect, test } from "vitest";
import { ErrorCode, errorCodeDescriptions, isErrorCode } from "../src/index.js";

test("error codes are the stable strings PROTOCOL.md lists", () => {
  expect(Object.values(ErrorCode).sort()).toEqual(
    [
      "invalid_message",
      "unknown_type",
      "unknown_method",
      "unauthorized",
      "forbidden",
      "rate_limited",
      "timeout",
      "internal",
      "overloaded",
      "limit_exceeded",
    ].sort(),
  );
});

test("every error code has a description", () => {
  for (const code of Object.values(ErrorCode)) {
    expect(errorCodeDescriptions[code].length).toBeGreaterThan(10);
  }
  expect(Object.keys(errorCodeDescriptions).sort()).toEqual(Object.values(ErrorCode).sort());
});

test("isErrorCode accepts the codes and nothing else", () => {
  for (const code of Object.values(ErrorCode)) expect(isErrorCode(code)).toBe(true);
  for (const value of ["", "Timeout", "toString", "__proto__", 1, null, undefined, {}]) {
    expect(isErrorCode(value)).toBe(false);
  }
});
