import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { checkQuery, originAllowed, parseTarget, remoteAddress } from "../src/handshake.js";

const roles = ["frontend", "admin", "test"];
const check = (query: string) =>
  checkQuery(parseTarget(`/ws?${query}`)?.params ?? new Map(), roles);

function request(peer: string, forwardedFor?: string): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
  } as unknown as IncomingMessage;
}

describe("handshake query", () => {
  it("accepts client_id, version and role", () => {
    expect(check("client_id=a-1&version=1&role=frontend&token=t")).toEqual({
      ok: true,
      query: { clientId: "a-1", version: 1, role: "frontend", token: "t" },
    });
  });

  it.each([
    ["client_id=a&role=test", 4400, /unsupported version/],
    ["client_id=a&version=2&role=test", 4400, /unsupported version/],
    ["version=1&role=test", 4400, /missing client_id/],
    ["client_id=a%20b&version=1&role=test", 4400, /invalid client_id/],
    [`client_id=${"x".repeat(129)}&version=1&role=test`, 4400, /invalid client_id/],
    ["client_id=a&version=1", 4401, /invalid role/],
    ["client_id=a&version=1&role=root", 4401, /invalid role/],
  ])("refuses %s with %i", (query, code, reason) => {
    const result = check(query);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.refusal.code).toBe(code);
    expect(result.refusal.reason).toMatch(reason);
  });
});

describe("request target", () => {
  it("splits path and query, decoding like URLSearchParams and keeping the first value", () => {
    const target = parseTarget(
      "/ws?client_id=a%3Ab&role=front+end&x&client_id=second&bad=%E0%A4%A",
    );
    expect(target?.path).toBe("/ws");
    expect(Object.fromEntries(target?.params ?? [])).toEqual({
      client_id: "a:b",
      role: "front end",
      x: "",
      bad: "%E0%A4%A",
    });
    expect(parseTarget("/ws")).toEqual({ path: "/ws", params: new Map() });
    expect(parseTarget(undefined)?.path).toBe("/");
  });

  it("accepts an absolute-form target", () => {
    const target = parseTarget("http://example.com/ws?version=1");
    expect(target?.path).toBe("/ws");
    expect(target?.params.get("version")).toBe("1");
    expect(parseTarget("not a url")).toBeUndefined();
  });
});

describe("origin allow-list", () => {
  it("allows listed origins and requests without Origin", () => {
    expect(originAllowed("https://a.example", ["https://a.example"])).toBe(true);
    expect(originAllowed("https://evil.example", ["https://a.example"])).toBe(false);
    expect(originAllowed(undefined, ["https://a.example"])).toBe(true);
    expect(originAllowed("https://any", undefined)).toBe(true);
    expect(originAllowed("https://a.example", (o) => o.endsWith(".example"))).toBe(true);
  });
});

describe("remote address", () => {
  it("uses the socket peer unless the proxy is trusted", () => {
    expect(remoteAddress(request("::ffff:10.0.0.1", "1.2.3.4"), false)).toBe("10.0.0.1");
    expect(remoteAddress(request("10.0.0.1", "1.2.3.4"), ["10.0.0.2"])).toBe("10.0.0.1");
  });

  it("takes the right-most untrusted X-Forwarded-For hop from a trusted proxy", () => {
    expect(remoteAddress(request("10.0.0.1", "1.2.3.4"), ["10.0.0.1"])).toBe("1.2.3.4");
    // The left-most hop is whatever the client claimed; the proxies appended the rest.
    expect(
      remoteAddress(request("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.9"), ["10.0.0.1", "10.0.0.9"]),
    ).toBe("1.2.3.4");
    expect(remoteAddress(request("10.0.0.1", "1.2.3.4"), true)).toBe("1.2.3.4");
    expect(remoteAddress(request("10.0.0.1"), true)).toBe("10.0.0.1");
    expect(remoteAddress(request("10.0.0.1", " , "), true)).toBe("10.0.0.1");
  });

  it("does not read the peer (a getpeername per socket) behind a proxy trusted whatever it is", () => {
    let reads = 0;
    const forwarded = {
      socket: {
        get remoteAddress() {
          reads += 1;
          return "10.0.0.1";
        },
      },
      headers: { "x-forwarded-for": "6.6.6.6, ::ffff:1.2.3.4" },
    } as unknown as IncomingMessage;
    expect(remoteAddress(forwarded, true)).toBe("6.6.6.6");
    expect(reads).toBe(0);
    expect(remoteAddress(forwarded, ["10.0.0.1"])).toBe("1.2.3.4");
    expect(reads).toBe(1);
  });
});
