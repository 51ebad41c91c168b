import { request } from "node:http";
import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MethodError } from "../src/index.js";
import { createMetrics } from "../src/metrics.js";
import type { ServerStats } from "../src/stats.js";
import {
  connect,
  createDisposer,
  createFakeClock,
  ofType,
  serverClosedAfterEach,
  startServer,
  within,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);

function scrape(port: number): Promise<string> {
  return within(
    new Promise((resolve, reject) => {
      request({ host: "127.0.0.1", port, path: "/metrics" }, (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () => resolve(body));
      })
        .on("error", reject)
        .end();
    }),
    "/metrics",
  );
}

/** The value of one sample line, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("metrics in the application's registry", () => {
  it("registers under the prefix beside the application's own metrics, one scrape for both", async () => {
    const registry = new Registry();
    new Counter({ name: "app_orders_total", help: "Orders.", registers: [registry] }).inc(7);
    const s = await server({ metrics: { registry, prefix: "observatory_ws_" } });
    const c = await connect(s, "m");
    disposer.add(() => c.close());

    const fromApp = await registry.metrics();
    expect(sample(fromApp, "observatory_ws_connections")).toBe(1);
    expect(sample(fromApp, "app_orders_total")).toBe(7);
    expect(fromApp).not.toContain("lifeline_");
    // The server's own endpoint renders the registry it was given.
    expect(sample(await scrape(s.port), "app_orders_total")).toBe(7);
  });

  it("removes its metrics on close, so a server restarted on the registry registers again", async () => {
    const registry = new Registry();
    const first = await startServer({ metrics: { registry } });
    await first.close({ drainTimeoutMs: 0 });
    expect(registry.getMetricsAsArray()).toEqual([]);
    const second = await server({ metrics: { registry } });
    expect(sample(await registry.metrics(), "lifeline_connections")).toBe(0);
    expect(second.port).toBeGreaterThan(0);
  });

  it("refuses a second server on the same registry and prefix, leaving the first intact", async () => {
    const registry = new Registry();
    await server({ metrics: { registry } });
    await expect(startServer({ metrics: { registry } })).rejects.toMatchObject({
      code: "LIFELINE_INVALID_OPTIONS",
      message: expect.stringContaining("metrics.prefix"),
    });
    expect(sample(await registry.metrics(), "lifeline_connections")).toBe(0);
    await server({ metrics: { registry, prefix: "second_" } });
    expect(sample(await registry.metrics(), "second_connections")).toBe(0);
  });
});

describe("rpc duration", () => {
  it("observes every answered request by method and outcome; unregistered names share one label", async () => {
    const s = await server();
    s.method("add", () => 3);
    s.method("refuse", () => {
      throw new MethodError("not_allowed", "no");
    });
    const c = await connect(s, "rpc");
    disposer.add(() => c.close());
    for (const [id, method] of [
      ["1", "add"],
      ["2", "add"],
      ["3", "refuse"],
      ["4", "made-up-by-a-client"],
    ]) {
      c.send({ type: "request", id, method });
      await c.next(ofType("response"));
    }
    const text = await scrape(s.port);
    const count = (labels: string) =>
      sample(text, `lifeline_rpc_duration_seconds_count{${labels}}`);
    expect(count('method="add",outcome="ok"')).toBe(2);
    expect(count('method="refuse",outcome="not_allowed"')).toBe(1);
    expect(count('method="(unknown)",outcome="unknown_method"')).toBe(1);
    expect(text).not.toContain("made-up-by-a-client");
  });
});

describe("connection lifetime", () => {
  it("observes a closed connection's time since its handshake, on the server's clock", async () => {
    const clock = createFakeClock();
    const s = await server({ clock, heartbeat: { intervalMs: 0 } });
    const c = await connect(s, "lifetime");
    clock.advance(90_000);
    const gone = new Promise((resolve) => s.on("disconnect", resolve));
    await c.close();
    await within(gone, "disconnect");
    const text = await scrape(s.port);
    expect(sample(text, 'lifeline_connection_duration_seconds_bucket{le="60"}')).toBe(0);
    expect(sample(text, 'lifeline_connection_duration_seconds_bucket{le="300"}')).toBe(1);
    expect(sample(text, "lifeline_connection_duration_seconds_sum")).toBe(90);
  });
});

describe("broadcast counters", () => {
  it("counts broadcasts and deliveries, one delivery per recipient", async () => {
    const s = await server();
    const clients = await Promise.all(["a", "b", "c"].map((id) => connect(s, id)));
    for (const c of clients) {
      disposer.add(() => c.close());
      c.send({ type: "subscribe", id: "s", topic: "news" });
      await c.next(ofType("subscribed"));
    }
    await s.publish("news", { n: 1 });
    await Promise.all(clients.map((c) => c.next(ofType("message"))));
    const text = await scrape(s.port);
    expect(sample(text, "lifeline_broadcasts_total")).toBe(1);
    expect(sample(text, "lifeline_broadcast_deliveries_total")).toBe(3);
    expect(sample(text, "lifeline_broadcast_failures_total")).toBe(0);
  });

  it("exposes failed deliveries from the server's figures", async () => {
    const stats: ServerStats = {
      uptimeMs: 0,
      connections: { active: 0, total: 0, pending: 0, byWire: [] },
      topics: { active: 0, subscriptions: 0 },
      conflatedCatchUps: 0,
      messagesIn: {},
      messagesOut: {},
      bytesIn: 0,
      bytesOut: 0,
      errors: {},
      closes: {},
      handshakeFailures: {},
      limitRefusals: {},
      broadcasts: { count: 4, deliveries: 10, failures: 2 },
      bufferedBytes: 0,
      slowConsumers: 0,
      broker: { healthy: true },
      closing: false,
    };
    const metrics = createMetrics(() => stats);
    const text = await metrics.render();
    expect(sample(text, "lifeline_broadcast_deliveries_total")).toBe(10);
    expect(sample(text, "lifeline_broadcast_failures_total")).toBe(2);
  });
});
