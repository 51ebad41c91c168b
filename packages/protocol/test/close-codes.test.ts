import { describe, expect, test } from "vitest";
import {
  CloseCode,
  closeCodeInfo,
  describeCloseCode,
  isFatalClose,
  MAX_CLOSE_REASON_BYTES,
  shouldReconnect,
  truncateCloseReason,
} from "../src/index.js";

const byteLength = (text: string) => Buffer.byteLength(text, "utf8");

describe("close codes", () => {
  test("match the PROTOCOL.md table", () => {
    expect(CloseCode).toEqual({
      Normal: 1000,
      GoingAway: 1001,
      Abnormal: 1006,
      PolicyViolation: 1008,
      MessageTooBig: 1009,
      InternalError: 1011,
      ServiceRestart: 1012,
      TryAgainLater: 1013,
      BadHandshake: 4400,
      Unauthenticated: 4401,
      Forbidden: 4403,
      SessionReplaced: 4409,
      TooManyConnections: 4429,
      HandshakeError: 4500,
    });
  });

  test("every code has a name, a description and a retry class", () => {
    for (const code of Object.values(CloseCode)) {
      const info = closeCodeInfo[code];
      expect(info.name).toMatch(/^[a-z_]+$/);
      expect(info.description.length).toBeGreaterThan(5);
      expect(["none", "fatal", "backoff", "slow", "server"]).toContain(info.retry);
      expect(describeCloseCode(code)).toBe(info);
    }
    expect(Object.keys(closeCodeInfo).map(Number).sort()).toEqual(Object.values(CloseCode).sort());
  });

  test.each([
    [CloseCode.BadHandshake, true],
    [CloseCode.Unauthenticated, true],
    [CloseCode.Forbidden, true],
    [CloseCode.SessionReplaced, true],
    [CloseCode.Normal, false],
    [CloseCode.GoingAway, false],
    [CloseCode.Abnormal, false],
    [CloseCode.PolicyViolation, false],
    [CloseCode.MessageTooBig, false],
    [CloseCode.InternalError, false],
    [CloseCode.ServiceRestart, false],
    [CloseCode.TryAgainLater, false],
    [CloseCode.TooManyConnections, false],
    [CloseCode.HandshakeError, false],
  ])("isFatalClose(%i) is %s", (code, fatal) => {
    expect(isFatalClose(code)).toBe(fatal);
  });

  test.each([
    [CloseCode.Normal, false],
    [CloseCode.BadHandshake, false],
    [CloseCode.SessionReplaced, false],
    [CloseCode.GoingAway, true],
    [CloseCode.Abnormal, true],
    [CloseCode.ServiceRestart, true],
    [CloseCode.TryAgainLater, true],
    [CloseCode.TooManyConnections, true],
    [4999, true],
    [1005, true],
  ])("shouldReconnect(%i) is %s", (code, reconnect) => {
    expect(shouldReconnect(code)).toBe(reconnect);
  });

  test("retry classes follow the table: restart waits for the server, overload backs off harder", () => {
    expect(closeCodeInfo[CloseCode.ServiceRestart].retry).toBe("server");
    expect(closeCodeInfo[CloseCode.TryAgainLater].retry).toBe("slow");
    expect(closeCodeInfo[CloseCode.TooManyConnections].retry).toBe("slow");
    expect(closeCodeInfo[CloseCode.Normal].retry).toBe("none");
  });

  test("describes codes the protocol does not define without making them fatal", () => {
    expect(describeCloseCode(1005)).toMatchObject({ name: "no_status", retry: "backoff" });
    expect(describeCloseCode(1002)).toMatchObject({ name: "protocol_error" });
    expect(describeCloseCode(4123)).toEqual({
      name: "application",
      description: "application close code 4123",
      retry: "backoff",
    });
    expect(describeCloseCode(3000)).toMatchObject({ name: "unknown", retry: "backoff" });
    expect(describeCloseCode(Number.NaN)).toMatchObject({ name: "unknown" });
    expect(isFatalClose(4123)).toBe(false);
  });

  test("ignores Object.prototype names", () => {
    expect(describeCloseCode("constructor" as unknown as number)).toMatchObject({
      name: "unknown",
    });
  });
});

describe("truncateCloseReason", () => {
  test("keeps short reasons", () => {
    expect(truncateCloseReason("server restart")).toBe("server restart");
    expect(truncateCloseReason("")).toBe("");
    const exact = "a".repeat(MAX_CLOSE_REASON_BYTES);
    expect(truncateCloseReason(exact)).toBe(exact);
  });

  test("cuts to 123 UTF-8 bytes, not characters (RFC 6455 section 5.5)", () => {
    expect(byteLength(truncateCloseReason("a".repeat(500)))).toBe(123);
    // "é" is 2 bytes: 61 fit (122 bytes), a 62nd would make 124.
    expect(truncateCloseReason("é".repeat(100))).toBe("é".repeat(61));
    // "€" is 3 bytes: 41 fit exactly.
    expect(truncateCloseReason("€".repeat(100))).toBe("€".repeat(41));
  });

  test("never splits a surrogate pair", () => {
    const cut = truncateCloseReason("🔭".repeat(40));
    expect(cut).toBe("🔭".repeat(30));
    expect(byteLength(cut)).toBe(120);
    const mixed = truncateCloseReason(`${"a".repeat(121)}🔭`);
    expect(mixed).toBe("a".repeat(121));
  });
});
