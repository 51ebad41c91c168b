import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { createServer, type ServerLogger } from "../src/index.js";
import {
  captureLogs,
  connect,
  connectWebSocket,
  createDisposer,
  ofType,
  onJsonWebSocket,
  openHandshake,
  startServer,
  within,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

const SECRET = "sup3r-s3cret-t0ken";

function get(port: number, path: string): Promise<string> {
  return within(
    new Promise((resolve, reject) => {
      request({ host: "127.0.0.1", port, path }, (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () => resolve(body));
      })
        .on("error", reject)
        .end();
    }),
    path,
  );
}

describe("connection logging", () => {
  // A close frame with a reason: only a WebSocket client closes cleanly (an SSE client
  // drops its stream, the unexpected close below).
  onJsonWebSocket(() => {
    it("logs a clean close at debug with id, code, reason, duration and counters", async () => {
      const logs = captureLogs();
      const s = await startServer({ logger: logs.logger });
      disposer.add(() => s.close({ drainTimeoutMs: 100 }));
      const client = await connectWebSocket(s, "neat");
      client.send({ type: "ping" });
      await client.next(ofType("pong"));
      client.ws.close(1000, "bye");
      const line = await logs.waitFor((l) => l.msg === "connection closed");
      expect(line).toMatchObject({
        level: 20,
        client_id: "neat",
        code: 1000,
        reason: "bye",
        messages_in: 1,
        messages_out: 2,
        errors: 0,
      });
      expect(typeof line.connection_id).toBe("string");
      expect(typeof line.duration_ms).toBe("number");
    });
  });

  it("logs an unexpected close (1006) at warn", async () => {
    const logs = captureLogs();
    const s = await startServer({ logger: logs.logger });
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    const client = await connect(s, "crashy");
    client.terminate();
    const line = await logs.waitFor((l) => l.msg === "connection closed unexpectedly");
    expect(line).toMatchObject({ level: 40, client_id: "crashy", code: 1006 });
  });

  it("never writes the token to a log line or the status output", async () => {
    const logs = captureLogs();
    const s = await startServer({
      logger: logs.logger,
      status: { enabled: true },
      authenticate: (req, info) => {
        if (info.token !== SECRET) throw new Error("unexpected");
        return { id: "u", token: info.token, url: req.url };
      },
    });
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    const client = await connect(s, "secretive", `&token=${SECRET}`);
    // A refused handshake logs its URL: redacted too.
    const refused = await openHandshake(s, `client_id=x&version=9&role=test&token=${SECRET}`);
    await within(refused.closed, "refusal");
    const status = await get(s.port, "/api/websocket/status");
    client.terminate();
    await logs.waitFor((l) => l.msg === "connection closed unexpectedly");
    expect(status).toContain("secretive");
    expect(status).not.toContain(SECRET);
    expect(logs.raw.length).toBeGreaterThanOrEqual(3);
    expect(logs.raw.some((l) => l.includes("[redacted]"))).toBe(true);
    for (const line of logs.raw) expect(line).not.toContain(SECRET);
  });
});

describe("the logger option", () => {
  it("is quiet by default: warn and above, connections at debug", async () => {
    const s = await createServer({});
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    expect(s.logger.isLevelEnabled("warn")).toBe(true);
    expect(s.logger.isLevelEnabled("info")).toBe(false);

    const logs = captureLogs();
    const verbose = await startServer({ logger: logs.logger });
    disposer.add(() => verbose.close({ drainTimeoutMs: 100 }));
    const client = await connect(verbose, "routine");
    disposer.add(() => client.close());
    const accepted = await logs.waitFor((l) => l.msg === "connection accepted");
    expect(accepted).toMatchObject({ level: 20, client_id: "routine" });
  });

  // About the logger, not the wire: run once, with a clean close to log at debug.
  onJsonWebSocket(() => {
    it("accepts any logger with pino's level methods, without isLevelEnabled", async () => {
      const calls: { level: string; fields: unknown; message: unknown }[] = [];
      const record =
        (level: string) =>
        (fields: object | string, message?: string): void => {
          calls.push({ level, fields, message });
        };
      const logger: ServerLogger = {
        debug: record("debug"),
        info: record("info"),
        warn: record("warn"),
        error: record("error"),
      };
      const s = await startServer({ logger });
      disposer.add(() => s.close({ drainTimeoutMs: 100 }));
      const client = await connectWebSocket(s, "plain");
      const gone = new Promise((resolve) => s.on("disconnect", resolve));
      client.ws.close(1000, "bye");
      await within(gone, "disconnect");
      expect(calls).toContainEqual({
        level: "debug",
        fields: expect.objectContaining({ client_id: "plain" }),
        message: "connection accepted",
      });
      expect(calls).toContainEqual({
        level: "debug",
        fields: expect.objectContaining({ client_id: "plain", code: 1000 }),
        message: "connection closed",
      });
    });
  });
});
