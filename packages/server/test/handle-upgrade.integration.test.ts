import { createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { AuthError, type LifelineServer, type ServerOptions } from "../src/index.js";
import {
  captureLogs,
  connect,
  createDisposer,
  ofType,
  openClient,
  startServer,
  upgradeStatus,
  within,
  wsUrl,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

/**
 * An application's HTTP server on `host` that hands `/ws` upgrades to a `noServer` Lifeline
 * server and keeps `/other` for a WebSocket endpoint of its own.
 */
async function appWithLifeline(
  options: ServerOptions = {},
  host = "127.0.0.1",
): Promise<{
  lifeline: LifelineServer;
  port: number;
  handed: boolean[];
}> {
  const lifeline = await startServer({ noServer: true, ...options });
  const own = new WebSocketServer({ noServer: true });
  const handed: boolean[] = [];
  const http: Server = createHttpServer((request, response) => {
    if (lifeline.handleHttp(request, response)) return;
    response.end("app");
  });
  http.on("upgrade", (request, socket, head) => {
    const taken = lifeline.handleUpgrade(request, socket, head);
    handed.push(taken);
    if (taken) return;
    if (request.url === "/other") {
      own.handleUpgrade(request, socket, head, (ws) => ws.send("own endpoint"));
    } else {
      socket.destroy();
    }
  });
  await new Promise<void>((resolve) => http.listen(0, host, resolve));
  disposer.add(() => new Promise((resolve) => http.close(resolve)));
  disposer.add(() => http.closeAllConnections());
  disposer.add(() => own.close());
  disposer.add(() => lifeline.close({ drainTimeoutMs: 200, batchIntervalMs: 0 }));
  return { lifeline, port: (http.address() as AddressInfo).port, handed };
}

const warningsOf = (lines: readonly Record<string, unknown>[]) =>
  lines.filter((line) => line.level === 40).map((line) => String(line.msg));

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      httpRequest({ port, host: "127.0.0.1", path }, (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      })
        .on("error", reject)
        .end();
    }),
    `GET ${path}`,
  );
}

describe("handleUpgrade with noServer", () => {
  it("admits a handshake the application hands over, and the connection works", async () => {
    const { lifeline, port, handed } = await appWithLifeline();
    const client = await connect({ port }, "handed-1");
    disposer.add(() => client.close());
    expect(client.hello).toMatchObject({ type: "hello", client_id: "handed-1" });
    client.send({ type: "subscribe", id: "s1", topic: "news" });
    await client.next(ofType("subscribed"), "subscribed");
    await lifeline.publish("news", { n: 1 });
    expect(await client.next(ofType("message"), "message")).toMatchObject({ data: { n: 1 } });
    expect(handed).toEqual([true]);
    expect(lifeline.connections()).toHaveLength(1);
  });

  it("leaves other paths untouched for the application's own endpoints", async () => {
    const { port, handed } = await appWithLifeline();
    const own = new WebSocket(`ws://127.0.0.1:${port}/other`);
    disposer.add(() => own.terminate());
    const first = await within(
      new Promise<string>((resolve) => own.once("message", (data) => resolve(String(data)))),
      "own endpoint's message",
    );
    expect(first).toBe("own endpoint");
    expect(handed).toEqual([false]);
  });

  it("refuses an origin outside allowedOrigins with 403, as on its own port", async () => {
    const { port } = await appWithLifeline({ allowedOrigins: ["https://app.example"] });
    const url = wsUrl({ port });
    expect(await upgradeStatus(url, { origin: "https://evil.example" })).toBe(403);
    const allowed = openClient(url, { headers: { origin: "https://app.example" } });
    disposer.add(() => allowed.close());
    await allowed.next(ofType("hello"), "hello");
  });

  it("keeps the connection limits: the per-address limit answers 429", async () => {
    const { port } = await appWithLifeline({ limits: { maxConnectionsPerIp: 1 } });
    const first = await connect({ port }, "one");
    disposer.add(() => first.close());
    expect(await upgradeStatus(wsUrl({ port }, "client_id=two&version=1&role=test"))).toBe(429);
  });

  it("runs authenticate: an AuthError closes 4401", async () => {
    const { port } = await appWithLifeline({
      authenticate: (_request, { token }) => {
        if (token !== "good") throw new AuthError("invalid token");
        return { id: "user" };
      },
    });
    const refused = openClient(wsUrl({ port }, "client_id=a&version=1&role=test&token=bad"));
    expect(await within(refused.closed, "close")).toEqual({
      code: 4401,
      reason: "invalid token",
    });
    const admitted = await connect({ port }, "b", "&token=good");
    disposer.add(() => admitted.close());
    expect(admitted.hello.client_id).toBe("b");
  });

  it("shuts down gracefully: clients get shutdown and 1012, later upgrades 503", async () => {
    const { lifeline, port, handed } = await appWithLifeline({ heartbeat: { intervalMs: 0 } });
    const client = await connect({ port }, "leaving");
    await lifeline.close({ reason: "deploy", spreadMs: 0, drainTimeoutMs: 1000 });
    expect(await client.next(ofType("shutdown"), "shutdown")).toMatchObject({ reason: "deploy" });
    expect(await within(client.closed, "close")).toMatchObject({ code: 1012 });
    expect(await upgradeStatus(wsUrl({ port }, "client_id=late&version=1&role=test"))).toBe(503);
    expect(handed).toEqual([true, true]);
  });

  it("serves the HTTP endpoints through handleHttp beside the application's pages", async () => {
    const { port } = await appWithLifeline();
    expect(await get(port, "/")).toEqual({ status: 200, body: "app" });
    const health = await get(port, "/health");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok" });
    expect((await get(port, "/metrics")).body).toContain("lifeline_connections");
  });

  it("has no port or HTTP server of its own", async () => {
    const lifeline = await startServer({ noServer: true });
    disposer.add(() => lifeline.close({ drainTimeoutMs: 0 }));
    expect(lifeline.httpServer).toBeUndefined();
    expect(() => lifeline.port).toThrow(
      expect.objectContaining({ code: "LIFELINE_INVALID_OPTIONS" }),
    );
  });

  it("refuses noServer together with server or port", async () => {
    await expect(startServer({ noServer: true, port: 0 })).rejects.toMatchObject({
      code: "LIFELINE_INVALID_OPTIONS",
      message: expect.stringContaining('"port"'),
    });
    const http = createHttpServer();
    await expect(startServer({ noServer: true, server: http })).rejects.toMatchObject({
      code: "LIFELINE_INVALID_OPTIONS",
      message: expect.stringContaining('"server"'),
    });
  });

  it("logs the exposure warnings once, from the first handed-over socket not on loopback", async () => {
    const logs = captureLogs();
    const lifeline = await startServer({ noServer: true, logger: logs.logger });
    disposer.add(() => lifeline.close({ drainTimeoutMs: 0 }));
    const { Duplex } = await import("node:stream");
    // A socket whose HTTP server is unknown: only its local address says where it came in.
    const handOver = (address: string) => {
      const socket = new Duplex({ read() {}, write: (_chunk, _encoding, done) => done() });
      const request = {
        url: "/elsewhere",
        headers: {},
        socket: { address: () => ({ address, family: "IPv4", port: 8080 }) },
      };
      return lifeline.handleUpgrade(request as never, socket, Buffer.alloc(0));
    };
    expect(handOver("127.0.0.1")).toBe(false);
    expect(warningsOf(logs.lines)).toEqual([]);
    expect(handOver("10.0.0.5")).toBe(false);
    expect(handOver("10.0.0.6")).toBe(false);
    expect(warningsOf(logs.lines)).toEqual([
      expect.stringMatching(/^listening on 10\.0\.0\.5:8080 with no authenticate hook/),
    ]);
  });

  it("judges exposure by the address the application's server listens on, from a handleHttp request too", async () => {
    const logs = captureLogs();
    const { lifeline, port } = await appWithLifeline(
      { status: { enabled: true }, logger: logs.logger },
      "::",
    );
    // The client comes over loopback, but the server listens on every address.
    expect((await get(port, "/health")).status).toBe(200);
    const expected = [
      expect.stringMatching(new RegExp(`^listening on \\[::\\]:${port} with no authenticate hook`)),
      expect.stringMatching(/^the status endpoint lists remote addresses/),
    ];
    expect(warningsOf(logs.lines)).toEqual(expected);
    const c = await connect({ port }, "after-warning");
    disposer.add(() => c.close());
    expect(warningsOf(logs.lines)).toEqual(expected);
    expect(lifeline.connections()).toHaveLength(1);
  });

  it("says nothing for handed-over sockets once authenticate and the status guard are given", async () => {
    const logs = captureLogs();
    const { port } = await appWithLifeline(
      {
        authenticate: () => "user",
        status: { enabled: true, authorize: () => false },
        logger: logs.logger,
      },
      "0.0.0.0",
    );
    expect((await get(port, "/api/websocket/status")).status).toBe(403);
    const c = await connect({ port }, "guarded");
    disposer.add(() => c.close());
    expect(warningsOf(logs.lines)).toEqual([]);
  });
});

describe("handleHttp as a middleware", () => {
  it("calls next for paths that are not its endpoints and takes its own", async () => {
    const lifeline = await startServer({ noServer: true });
    disposer.add(() => lifeline.close({ drainTimeoutMs: 0 }));
    const passed: string[] = [];
    const http = createHttpServer((request, response) => {
      lifeline.handleHttp(request, response, () => {
        passed.push(request.url ?? "");
        response.end("next");
      });
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    disposer.add(() => new Promise((resolve) => http.close(resolve)));
    const port = (http.address() as AddressInfo).port;
    expect(await get(port, "/page")).toEqual({ status: 200, body: "next" });
    expect((await get(port, "/health")).status).toBe(200);
    expect(passed).toEqual(["/page"]);
  });
});
