import { afterEach, describe, expect, it } from "vitest";
import {
  captureLogs,
  connect,
  connectWebSocket,
  createDisposer,
  createFakeClock,
  ofType,
  onJsonWebSocket,
  onWebSocket,
  startServer,
  type TestClient,
  type WsTestClient,
  within,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

/** Waits, bounded, until `condition` holds (checked once per event-loop turn). */
async function until(condition: () => boolean, label: string): Promise<void> {
  await within(
    (async () => {
      for (let i = 0; i < 10_000 && !condition(); i += 1) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (!condition()) throw new Error(`never reached: ${label}`);
    })(),
    label,
  );
}

/**
 * Resolves on the next ping frame of a WebSocket client; at once over SSE, which has no
 * frames (the app `ping` is its only ping).
 */
function pingFrame(client: TestClient): Promise<unknown> {
  if (!("ws" in client)) return Promise.resolve();
  return new Promise((resolve) => (client as WsTestClient).ws.once("ping", resolve));
}

describe("heartbeat over real sockets (injected clock)", () => {
  it("sends a ping (frame and app message) every interval and terminates a silent client", async () => {
    const clock = createFakeClock();
    const logs = captureLogs();
    const s = await startServer({
      clock,
      logger: logs.logger,
      heartbeat: { intervalMs: 25_000, timeoutMs: 20_000 },
    });
    disposer.add(() => s.close({ drainTimeoutMs: 10 }));
    const client = await connect(s, "silent", "", { autoPong: false });
    disposer.add(() => client.terminate());
    expect(client.hello.heartbeat_interval_ms).toBe(25_000);
    const frame = pingFrame(client);

    clock.advance(24_999);
    expect(client.received.some((m) => m.type === "ping")).toBe(false);
    clock.advance(1);
    await within(frame, "ping frame");
    expect(await client.next(ofType("ping"))).toEqual({ type: "ping" });

    clock.advance(19_999);
    expect(s.stats().connections.active).toBe(1);
    clock.advance(1);
    expect((await within(client.closed, "termination")).code).toBe(1006);
    const line = await logs.waitFor(
      (l) => l.msg === "heartbeat timeout: terminating silent connection",
    );
    expect(line).toMatchObject({ level: 40, client_id: "silent", silent_ms: 45_000 });
  });

  // permessage-deflate is an extension of the WebSocket wire.
  onJsonWebSocket(() => {
    it("sends both frames through ws when permessage-deflate takes the pre-framed path away", async () => {
      const clock = createFakeClock();
      const s = await startServer({
        clock,
        perMessageDeflate: true,
        heartbeat: { intervalMs: 1000, timeoutMs: 500 },
      });
      disposer.add(() => s.close({ drainTimeoutMs: 10 }));
      const client = await connectWebSocket(s, "deflating", "", { autoPong: false });
      disposer.add(() => client.terminate());
      expect(client.ws.extensions).toContain("permessage-deflate");
      const frame = new Promise((resolve) => client.ws.once("ping", resolve));
      clock.advance(1000);
      await within(frame, "ping frame");
      expect(await client.next(ofType("ping"))).toEqual({ type: "ping" });
    });
  });

  it("keeps a client that answers pings (pong frames over WebSocket, pong posts over SSE)", async () => {
    const clock = createFakeClock();
    const s = await startServer({ clock, heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    disposer.add(() => s.close({ drainTimeoutMs: 10 }));
    const client = await connect(s, "lively");
    disposer.add(() => client.close());
    const [info] = s.connections();
    for (let round = 1; round <= 5; round += 1) {
      const pinged = pingFrame(client);
      clock.advance(1000);
      await within(pinged, `ping ${round}`);
      await client.next(ofType("ping"), `app ping ${round}`);
      await until(() => info?.lastActivityAt === clock.now(), `pong ${round} seen by the server`);
    }
    clock.advance(1000);
    expect(client.isOpen()).toBe(true);
    expect(s.stats().connections.active).toBe(1);
  });

  onWebSocket(() => {
    it("leaves the ping frame out once a client answers app pings, and keeps that client", async () => {
      const clock = createFakeClock();
      const s = await startServer({ clock, heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
      disposer.add(() => s.close({ drainTimeoutMs: 10 }));
      const connected = await connect(s, "answering");
      disposer.add(() => connected.close());
      if (!("ws" in connected)) throw new Error("a WebSocket wire was expected");
      const client = connected as WsTestClient;
      let frames = 0;
      client.ws.on("ping", () => {
        frames += 1;
      });
      for (let round = 1; round <= 4; round += 1) {
        clock.advance(1000);
        await client.next(ofType("ping"), `app ping ${round}`);
        // The frame shares the app ping's buffer, so it has been read by now when sent.
        expect(frames, `ping frames by round ${round}`).toBe(1);
        client.send({ type: "pong" });
        // Answered in order: once this pong is back, the server has read the one before.
        client.send({ type: "ping" });
        await client.next(ofType("pong"), `pong ${round}`);
      }
      clock.advance(1000);
      await client.next(ofType("ping"), "app ping after the rounds");
      expect(client.isOpen()).toBe(true);
      expect(s.stats().connections.active).toBe(1);
    });
  });

  it("counts any message as proof of life", async () => {
    const clock = createFakeClock();
    const s = await startServer({ clock, heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    disposer.add(() => s.close({ drainTimeoutMs: 10 }));
    const client = await connect(s, "chatty", "", { autoPong: false });
    disposer.add(() => client.close());
    for (let round = 0; round < 5; round += 1) {
      clock.advance(900);
      client.send({ type: "pong" });
      client.send({ type: "ping" });
      await client.next(ofType("pong"), "pong");
    }
    expect(client.isOpen()).toBe(true);
  });
});
