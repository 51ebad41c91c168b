import { describe, expect, it } from "vitest";
import { defaultIdentify, resolveOptions } from "../src/options.js";

describe("options", () => {
  it("applies the documented defaults", () => {
    const opts = resolveOptions({});
    expect(opts.path).toBe("/ws");
    expect(opts.host).toBe("127.0.0.1");
    expect(opts.heartbeat).toEqual({ intervalMs: 25_000, timeoutMs: 20_000 });
    expect(opts.history).toEqual({
      maxMessages: 1000,
      maxAgeMs: 300_000,
      maxConflatedKeys: 10_000,
    });
    expect(opts.deltas).toEqual({ fullEvery: 20, fullIntervalMs: 30_000, maxKeys: 10_000 });
    expect(opts.limits.conflateHighWaterMark).toBe(262_144);
    expect(opts.limits).toMatchObject({
      maxPayload: 1024 * 1024,
      rate: { perSecond: 100, burst: 200 },
      highWaterMark: 4 * 1024 * 1024,
      handshakeTimeoutMs: 10_000,
    });
    expect(opts.deflate).toBe(false);
    expect(opts.status.enabled).toBe(false);
    expect(opts.takeover).toBe("replace");
  });

  it("puts the HTTP fallback beside the WebSocket path and announces it", () => {
    expect(resolveOptions({}).sse).toEqual({ path: "/sse" });
    expect(resolveOptions({}).features).toContain("sse");
    expect(resolveOptions({ path: "/api/ws" }).sse).toEqual({ path: "/api/sse" });
    expect(resolveOptions({ path: "/ws/" }).sse).toEqual({ path: "/ws/sse" });
    expect(resolveOptions({ sse: { path: "/fallback" } }).sse).toEqual({ path: "/fallback" });
    const off = resolveOptions({ sse: false });
    expect(off.sse).toBe(false);
    expect(off.features).not.toContain("sse");
  });

  it("refuses an SSE path that is relative, has a query or is the WebSocket path", () => {
    for (const path of ["sse", "/sse?x=1", "/ws"]) {
      expect(() => resolveOptions({ sse: { path } })).toThrow(/sse\.path must/);
    }
  });

  it("bounds every resource one client can make the server hold", () => {
    expect(resolveOptions({}).limits).toMatchObject({
      maxSubscriptionsPerConnection: 1000,
      maxPendingRequestsPerConnection: 100,
      maxTopics: 100_000,
      handshakeRate: {
        perAddressPerSecond: 10,
        perAddressBurst: 200,
        perClientPerSecond: 1,
        perClientBurst: 20,
      },
    });
    // An address allowed more connections may also reopen them all at once.
    const lifted = resolveOptions({ limits: { maxConnectionsPerIp: 10_000 } }).limits;
    expect(lifted.handshakeRate).toMatchObject({
      perAddressPerSecond: 1000,
      perAddressBurst: 20_000,
    });
  });

  it("merges nested options field by field", () => {
    const opts = resolveOptions({
      heartbeat: { intervalMs: 1000 },
      limits: { rate: { burst: 5 } },
      perMessageDeflate: true,
    });
    expect(opts.heartbeat).toEqual({ intervalMs: 1000, timeoutMs: 20_000 });
    expect(opts.limits.rate).toEqual({ perSecond: 100, burst: 5 });
    expect(opts.deflate).toEqual({ threshold: 1024 });
  });

  it("identifies principals by string, id or sub", () => {
    expect(defaultIdentify("alice")).toBe("alice");
    expect(defaultIdentify({ id: 7 })).toBe("7");
    expect(defaultIdentify({ sub: "auth0|x" })).toBe("auth0|x");
    expect(defaultIdentify(undefined)).toBe("anonymous");
    expect(defaultIdentify({ name: "no id" })).toBe("anonymous");
  });
});
