import { afterEach, describe, expect, it } from "vitest";
import {
  connect,
  createDisposer,
  createFakeClock,
  ofType,
  onJsonWebSocket,
  onWebSocket,
  startServer,
  type TestClient,
  within,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

describe("graceful shutdown", () => {
  it("tells every client shutdown with spread reconnect_after_ms, then closes them with 1012", async () => {
    const s = await startServer();
    const clients = await Promise.all(Array.from({ length: 10 }, (_, i) => connect(s, `c${i}`)));
    for (const c of clients) disposer.add(() => c.terminate());
    await s.close({
      reason: "deploy 42",
      reconnectAfterMs: 1000,
      spreadMs: 5000,
      batchIntervalMs: 0,
    });
    const delays: number[] = [];
    for (const c of clients) {
      const notice = await c.next(ofType("shutdown"));
      expect(notice.reason).toBe("deploy 42");
      delays.push(notice.reconnect_after_ms as number);
      expect(await within(c.closed, "1012")).toEqual({ code: 1012, reason: "deploy 42" });
    }
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(6000);
    expect(new Set(delays).size).toBeGreaterThan(5);
    expect(s.stats().connections.active).toBe(0);
    expect(s.stats().closing).toBe(true);
  });

  it("closes in paced batches", async () => {
    const clock = createFakeClock();
    const s = await startServer({ clock, heartbeat: { intervalMs: 0 } });
    const clients = await Promise.all(Array.from({ length: 5 }, (_, i) => connect(s, `c${i}`)));
    for (const c of clients) disposer.add(() => c.terminate());
    const closing = s.close({ batchSize: 2, batchIntervalMs: 1000 });
    const closedSoFar = () => clients.filter((c) => !c.isOpen()).length;
    const waitClosed = (batch: readonly TestClient[]) =>
      within(Promise.all(batch.map((c) => c.closed)), "batch close");
    await waitClosed(clients.slice(0, 2));
    expect(closedSoFar()).toBe(2);
    clock.advance(999);
    expect(closedSoFar()).toBe(2);
    clock.advance(1);
    await waitClosed(clients.slice(2, 4));
    expect(closedSoFar()).toBe(4);
    clock.advance(1000);
    await waitClosed(clients.slice(4));
    await within(closing, "close()");
    for (const c of clients) expect((await c.closed).code).toBe(1012);
  });

  // A WebSocket close is a handshake the server waits for; an SSE stream just ends.
  onWebSocket(() => {
    it("waits for close handshakes, bounded, then terminates the rest", async () => {
      const clock = createFakeClock();
      const s = await startServer({ clock, heartbeat: { intervalMs: 0 } });
      const good = await connect(s, "good");
      const stuck = await connect(s, "stuck");
      disposer.add(() => stuck.terminate());
      stuck.pause();
      let resolved = false;
      const closing = s.close({ drainTimeoutMs: 5000 }).then(() => {
        resolved = true;
      });
      expect((await within(good.closed, "good close")).code).toBe(1012);
      await new Promise((resolve) => setImmediate(resolve));
      expect(resolved).toBe(false);
      clock.advance(5000);
      await within(closing, "close() after drain timeout");
      expect(resolved).toBe(true);
      expect(s.stats().connections.active).toBe(0);
    });
  });

  it("refuses new work once closing", async () => {
    const s = await startServer();
    await s.close();
    await expect(s.publish("t", 1)).rejects.toMatchObject({ code: "LIFELINE_SERVER_CLOSED" });
    expect(s.stats().closing).toBe(true);
    // A second close is the same close.
    await expect(s.close()).resolves.toBeUndefined();
  });

  // Refused upgrades: the HTTP fallback's refusals are in sse.integration.test.ts.
  onJsonWebSocket(() => {
    it("answers 503 to upgrades on an attached server while shutting down", async () => {
      const { createServer } = await import("node:http");
      const http = createServer();
      await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
      disposer.add(() => new Promise((resolve) => http.close(resolve)));
      const s = await startServer({ server: http, heartbeat: { intervalMs: 0 } });
      const c = await connect(s, "a");
      disposer.add(() => c.terminate());
      const closing = s.close({ drainTimeoutMs: 2000 });
      const { WebSocket } = await import("ws");
      const status = await within(
        new Promise<number>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws?client_id=b&version=1&role=test`);
          ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
          ws.on("open", () => resolve(101));
          ws.on("error", () => {});
        }),
        "refusal",
      );
      await closing;
      expect(status).toBe(503);
    });

    it("refuses a handshake whose authenticate finishes after shutdown began", async () => {
      let admit: () => void = () => {};
      let asked: () => void = () => {};
      const authenticating = new Promise<void>((resolve) => {
        asked = resolve;
      });
      const s = await startServer({
        heartbeat: { intervalMs: 0 },
        authenticate: () =>
          new Promise<string>((resolve) => {
            admit = () => resolve("late");
            asked();
          }),
      });
      const { WebSocket } = await import("ws");
      const refused = new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws?client_id=late&version=1&role=test`);
        disposer.add(() => ws.terminate());
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        ws.on("open", () => resolve(101));
        ws.on("error", () => resolve(-1));
      });
      await within(authenticating, "authenticate called");
      const closing = s.close({ drainTimeoutMs: 1000 });
      admit();
      expect(await within(refused, "refusal")).toBe(503);
      await within(closing, "close()");
      expect(s.stats().connections.active).toBe(0);
      expect(s.stats().handshakeFailures.closing).toBe(1);
    });
  });
});
