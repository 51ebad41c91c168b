import { describe, expect, it } from "vitest";
import { briefCause, describeCause, jsonText } from "../src/output.js";

describe("causes", () => {
  it("name the close code and its meaning, on one line whatever the reason holds", () => {
    expect(describeCause({ code: 4401, reason: "invalid token" })).toBe(
      "4401 unauthenticated (unauthenticated or invalid role): invalid token",
    );
    const tls =
      "write EPROTO 80:error:0A00010B:SSL routines:wrong version number:ssl3_record.c:350:\n";
    expect(describeCause({ code: 1006, reason: tls })).toBe(
      "write EPROTO 80:error:0A00010B:SSL routines:wrong version number:ssl3_record.c:350:",
    );
    expect(briefCause({ code: 1012, reason: "restarting\n now" })).toBe(
      "1012 service_restart: restarting now",
    );
  });
});

describe("jsonText", () => {
  it("writes bytes as base64 and anything else as JSON does", () => {
    expect(jsonText({ a: [new Uint8Array([255, 0]), 1] })).toBe('{"a":["/wA=",1]}');
    expect(jsonText(undefined)).toBe("null");
    expect(jsonText("x")).toBe('"x"');
  });
});
