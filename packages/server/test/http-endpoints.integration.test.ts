import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryBroker } from "../src/index.js";
import {
  clientCloseCode,
  connect,
  createDisposer,
  ofType,
  openHandshake,
  serverClosedAfterEach,
  within,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      request({ host: "127.0.0.1", port, path, headers }, (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            type: String(response.headers["content-type"]),
            body,
          }),
        );
      })
        .on("error", reject)
        .end();
    }),
    path,
  );
}

describe("GET /health", () => {
  it("reports the websocket service and its connections", async () => {
    const s = await server();
    const c = await connect(s, "a");
    disposer.add(() => c.close());
    const response = await get(s.port, "/health");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      status: "ok",
      services: {
        websocket: { healthy: true, activeConnections: 1 },
        broker: { healthy: true },
      },
    });
  });

  it("answers 503 when the broker is unhealthy", async () => {
    const broker = createMemoryBroker();
    const s = await server({ broker });
    await broker.close();
    const response = await get(s.port, "/health");
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body)).toMatchObject({
      status: "degraded",
      services: { broker: { healthy: false, detail: "memory broker closed" } },
    });
  });
});

describe("GET /api/websocket/status", () => {
  it("is not served unless enabled", async () => {
    const s = await server();
    expect((await get(s.port, "/api/websocket/status")).status).toBe(404);
  });

  it("returns a summary and per-connection details, behind its guard", async () => {
    const s = await server({
      trustProxy: ["127.0.0.1"],
      status: { enabled: true, authorize: (req) => req.headers["x-admin"] === "yes" },
    });
    const c = await connect(s, "viewer", "", {
      headers: { "x-forwarded-for": "203.0.113.9", "user-agent": "probe/1" },
    });
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "s", topic: "t" });
    await c.next(ofType("subscribed"));
    expect((await get(s.port, "/api/websocket/status")).status).toBe(403);
    const response = await get(s.port, "/api/websocket/status", { "x-admin": "yes" });
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body);
    expect(body.summary).toMatchObject({
      connections: { active: 1 },
      topics: { active: 1, subscriptions: 1 },
    });
    expect(body.connections).toEqual([
      expect.objectContaining({
        connection_id: c.hello.connection_id,
        client_id: "viewer",
        remote_address: "203.0.113.9",
        user_agent: "probe/1",
        subscriptions: ["t"],
        messages_in: 1,
      }),
    ]);
    expect(typeof body.connections[0].connected_at).toBe("string");
    expect(typeof body.connections[0].last_activity_at).toBe("string");
  });
});

describe("GET /metrics", () => {
  it("exposes Prometheus text from the server's own registry", async () => {
    const s = await server();
    const other = await server();
    const c = await connect(s, "m");
    disposer.add(() => c.close());
    c.send({ type: "ping" });
    await c.next(ofType("pong"));
    c.send({ type: "subscribe", id: "bad", topic: 5 });
    await c.next(ofType("response"));
    const response = await get(s.port, "/metrics");
    expect(response.status).toBe(200);
    expect(response.type).toContain("text/plain");
    const text = response.body;
    expect(text).toMatch(/^lifeline_connections 1$/m);
    expect(text).toMatch(/^lifeline_messages_in_total\{type="ping"\} 1$/m);
    expect(text).toMatch(/^lifeline_messages_out_total\{type="hello"\} 1$/m);
    expect(text).toMatch(/^lifeline_errors_total\{code="invalid_message"\} 1$/m);
    expect(text).toContain("lifeline_broadcast_latency_seconds_bucket");
    expect(text).toContain("lifeline_buffered_bytes");
    expect(text).toContain("lifeline_handshake_failures_total");
    expect(text).toContain("lifeline_closes_total");
    // Two servers in one process do not share counters.
    expect((await get(other.port, "/metrics")).body).toMatch(/^lifeline_connections 0$/m);
  });

  it("counts closes by code and handshake failures by reason", async () => {
    const s = await server();
    const c = await connect(s, "x");
    const gone = new Promise((resolve) => s.on("disconnect", resolve));
    await c.close();
    await within(gone, "disconnect");
    const refused = await openHandshake(s, "client_id=y&version=7&role=test");
    await within(refused.closed, "refusal");
    const text = (await get(s.port, "/metrics")).body;
    expect(text).toMatch(
      new RegExp(`^lifeline_closes_total\\{code="${clientCloseCode}"\\} 1$`, "m"),
    );
    expect(text).toMatch(/^lifeline_handshake_failures_total\{reason="bad_version"\} 1$/m);
  });
});

describe("server.stats()", () => {
  it("returns the same figures as an object", async () => {
    const s = await server();
    const c = await connect(s, "s");
    disposer.add(() => c.close());
    c.send({ type: "publish", id: "p", topic: "t", data: "x" });
    await c.next(ofType("response"));
    const stats = s.stats();
    expect(stats).toMatchObject({
      connections: { active: 1, total: 1, pending: 0 },
      messagesIn: { publish: 1 },
      messagesOut: { hello: 1, response: 1 },
      errors: {},
      broker: { healthy: true },
      closing: false,
      bufferedBytes: 0,
      slowConsumers: 0,
    });
    expect(stats.bytesIn).toBeGreaterThan(0);
    expect(stats.bytesOut).toBeGreaterThan(0);
    expect(stats.uptimeMs).toBeGreaterThanOrEqual(0);
  });
});

describe("unknown paths", () => {
  it("answers 404", async () => {
    const s = await server();
    expect((await get(s.port, "/nope")).status).toBe(404);
  });
});
