import { type SettableHealth, withSettableHealth } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Broker,
  createMemoryBroker,
  type LifelineServer,
  type ServerOptions,
} from "../src/index.js";
import {
  connect,
  createDisposer,
  createFakeClock,
  type FakeClock,
  handshake,
  ofType,
  startServer,
  within,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

async function outageServer(
  clock: FakeClock,
  options: ServerOptions = {},
): Promise<{ server: LifelineServer; broker: Broker & SettableHealth }> {
  const broker = withSettableHealth(createMemoryBroker());
  const server = await startServer({
    broker,
    clock,
    heartbeat: { intervalMs: 0 },
    shutdown: { batchIntervalMs: 0, drainTimeoutMs: 200 },
    ...options,
  });
  disposer.add(() => server.close({ drainTimeoutMs: 200, batchIntervalMs: 0 }));
  disposer.add(() => broker.close());
  return { server, broker };
}

/** How a handshake with `server` as `clientId` ends: "open", or "http <status>". */
const handshakeOf = (server: LifelineServer, clientId: string) =>
  handshake(server, `client_id=${clientId}&version=1&role=test`);

describe("a broker outage", () => {
  it("keeps clients through a short one, then after closeAfterMs refuses upgrades and closes every client with shutdown and 1012", async () => {
    const clock = createFakeClock();
    const { server, broker } = await outageServer(clock, {
      brokerOutage: { closeAfterMs: 3000, reconnectAfterMs: 100, spreadMs: 400 },
    });
    const early = await connect(server, "early");
    disposer.add(() => early.terminate());

    // A blip shorter than closeAfterMs moves nobody.
    broker.setHealth({ healthy: false, detail: "redis command connection reconnecting" });
    clock.advance(2999);
    broker.setHealth({ healthy: true });
    clock.advance(10_000);
    expect(early.isOpen()).toBe(true);

    broker.setHealth({ healthy: false, detail: "redis command connection reconnecting" });
    clock.advance(2000);
    const late = await connect(server, "late");
    disposer.add(() => late.terminate());
    clock.advance(1000);
    for (const client of [early, late]) {
      const notice = await client.next(ofType("shutdown"));
      expect(notice.reason).toBe("message broker unavailable");
      expect(notice.reconnect_after_ms).toBeGreaterThanOrEqual(100);
      expect(notice.reconnect_after_ms).toBeLessThanOrEqual(500);
      expect(await within(client.closed, "1012")).toEqual({
        code: 1012,
        reason: "message broker unavailable",
      });
    }
    expect(await handshakeOf(server, "refused")).toBe("http 503");
    expect(server.stats().handshakeFailures.broker_unavailable).toBe(1);
    const health = await fetch(`http://127.0.0.1:${server.port}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      status: "degraded",
      services: { websocket: { healthy: false }, broker: { healthy: false } },
    });

    // Healthy again: the node serves at once.
    broker.setHealth({ healthy: true });
    const back = await connect(server, "back");
    disposer.add(() => back.terminate());
    expect(back.hello.type).toBe("hello");
    expect((await fetch(`http://127.0.0.1:${server.port}/health`)).status).toBe(200);
  });

  it("never closes anyone with closeAfterMs: Infinity, and ignores brokers without onHealthChange", async () => {
    const clock = createFakeClock();
    const { server, broker } = await outageServer(clock, {
      brokerOutage: { closeAfterMs: Number.POSITIVE_INFINITY },
    });
    const client = await connect(server, "stays");
    disposer.add(() => client.terminate());
    broker.setHealth({ healthy: false, detail: "down" });
    clock.advance(3_600_000);
    expect(clock.pending).toBe(0);
    expect(client.isOpen()).toBe(true);
    expect(await handshakeOf(server, "welcome")).toBe("open");

    // A broker without onHealthChange: health() may say anything, nobody is moved.
    const plain = createMemoryBroker();
    const silent = await startServer({
      broker: { ...plain, health: () => ({ healthy: false, detail: "down" }) } as Broker,
      clock,
      heartbeat: { intervalMs: 0 },
    });
    disposer.add(() => silent.close({ drainTimeoutMs: 200, batchIntervalMs: 0 }));
    disposer.add(() => plain.close());
    const other = await connect(silent, "other");
    disposer.add(() => other.terminate());
    clock.advance(60_000);
    expect(other.isOpen()).toBe(true);
  });

  it("starts the countdown at once when the broker is already unhealthy at start", async () => {
    const clock = createFakeClock();
    const broker = withSettableHealth(createMemoryBroker());
    broker.setHealth({ healthy: false, detail: "not connected yet" });
    const { server } = await outageServer(clock, { broker, brokerOutage: { closeAfterMs: 500 } });
    expect(await handshakeOf(server, "first")).toBe("open");
    clock.advance(500);
    expect(await handshakeOf(server, "second")).toBe("http 503");
  });
});
