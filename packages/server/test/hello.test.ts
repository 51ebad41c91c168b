import { validateServerMessage } from "@lifeline/protocol";
import { describe, expect, it } from "vitest";
import { buildHello, createHelloEncoder } from "../src/hello.js";

describe("hello", () => {
  const settings = { features: ["topics", "resume"], heartbeatIntervalMs: 25_000 };
  const fields = {
    clientId: "tab:1.a_b-c",
    connectionId: "3f9a1c07-1a",
    requestId: "3f9a1c07-19",
    nowMs: Date.UTC(2026, 10, 24, 12, 0, 0),
  };

  it("builds a hello that the protocol accepts", () => {
    const hello = buildHello(settings, fields);
    expect(validateServerMessage(hello).ok).toBe(true);
    expect(hello.server_time).toBe("2026-11-24T12:00:00.000Z");
  });

  it("encodes exactly what JSON.stringify would", () => {
    const encode = createHelloEncoder(settings);
    expect(encode(fields)).toBe(JSON.stringify(buildHello(settings, fields)));
    expect(JSON.parse(encode(fields))).toEqual(buildHello(settings, fields));
  });

  it("carries sse_key on an SSE connection, as the protocol accepts it", () => {
    const sse = { ...fields, sseKey: "q3Z0Yb2m9R-7xKpD_4s1Lw" };
    const hello = buildHello(settings, sse);
    expect(hello.sse_key).toBe(sse.sseKey);
    expect(validateServerMessage(hello).ok).toBe(true);
    expect(createHelloEncoder(settings)(sse)).toBe(JSON.stringify(hello));
  });

  it("refuses a hello whose sse_key is too short to be a secret", () => {
    const hello = buildHello(settings, { ...fields, sseKey: "short" });
    expect(validateServerMessage(hello).ok).toBe(false);
  });
});
