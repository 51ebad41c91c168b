import { createClient, type LogRecord } from "@lifeline/client";
import { AuthError } from "@lifeline/server";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { rawConnect } from "./support/raw-socket.js";
import { httpGet, startServer } from "./support/server.js";

// docs/reliability.md, "Bad input and attackers" (tokens never logged): credentials reach the server as the `token` query value,
// an Authorization header or a cookie. Whatever happens to the connection (accepted,
// refused, closed, erroring), no log line, status page or metric carries them.

const GOOD = "tok-GOOD-7f3a9c1e5b";
const BAD = "tok-BAD-0d2e4f6a8c";
const HEADER_SECRET = "Bearer hdr-SECRET-91b3";
const COOKIE_SECRET = "sid-COOKIE-SECRET-55aa";
const secrets = [GOOD, BAD, "hdr-SECRET-91b3", COOKIE_SECRET];

const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

function leaks(text: string): string[] {
  return secrets.filter((secret) => text.includes(secret));
}

describe("credentials in logs", () => {
  it("never writes a token, Authorization header or cookie to logs, status or metrics", async () => {
    const t = await startServer({
      status: { enabled: true },
      authenticate: (request, handshake) => {
        if (handshake.token === GOOD) return { id: "alice" };
        if (request.headers.authorization === HEADER_SECRET) return { id: "header-user" };
        throw new AuthError(`bad credentials for ${handshake.clientId}`);
      },
    });
    disposers.push(() => t.close());
    const clientLogs: LogRecord[] = [];

    // Accepted with a token; the client's own logs at debug level are checked too.
    const client = createClient({
      url: t.url,
      clientId: "token-client",
      token: GOOD,
      lifecycle: false,
      logLevel: "debug",
      logger: (record) => clientLogs.push(record),
      WebSocket: WebSocket as never,
    });
    disposers.push(() => client.close());
    await new Promise<void>((resolve) => {
      const stop = client.subscribeState((change) => {
        if (change.next === "open") {
          stop();
          resolve();
        }
      });
    });
    await client.request("no-such-method").catch(() => {});

    // Refused: bad token (4401), bad version with a token (4400), unknown path with a token.
    const refused = await rawConnect({
      port: t.port,
      path: `/ws?client_id=bad&version=1&role=test&token=${BAD}`,
    });
    expect((await refused.closed).code).toBe(4401);
    const badVersion = await rawConnect({
      port: t.port,
      path: `/ws?client_id=v&version=9&role=test&token=${BAD}`,
    });
    expect((await badVersion.closed).code).toBe(4400);
    const malformed = await rawConnect({
      port: t.port,
      path: `/ws?client_id=%%%&version=1&token=${BAD}&token=${GOOD}`,
    });
    await malformed.closed;
    const wrongPath = await rawConnect({ port: t.port, path: `/elsewhere?token=${BAD}` });
    expect(wrongPath.status).toBe(404);

    // Header and cookie credentials, accepted then closed abruptly.
    const headers = await rawConnect({
      port: t.port,
      path: "/ws?client_id=hdr&version=1&role=test",
      headers: [`Authorization: ${HEADER_SECRET}`, `Cookie: session=${COOKIE_SECRET}`],
    });
    await headers.next((m) => m.type === "hello");
    headers.destroy();

    const status = await httpGet(t.port, "/api/websocket/status");
    const metrics = await httpGet(t.port, "/metrics");
    const health = await httpGet(t.port, "/health");
    expect(status.status).toBe(200);
    client.close();
    await t.close();

    const logText = t.logs.raw.join("\n");
    const clientText = JSON.stringify(clientLogs);
    console.info(
      `[security] tokens: ${t.logs.raw.length} server log lines, ${clientLogs.length} client log records, status ${status.body.length} bytes, metrics ${metrics.body.length} bytes checked`,
    );
    expect(t.logs.raw.length).toBeGreaterThan(5);
    expect(logText).toContain("[redacted]");
    expect(leaks(logText)).toEqual([]);
    expect(leaks(status.body)).toEqual([]);
    expect(leaks(metrics.body)).toEqual([]);
    expect(leaks(health.body)).toEqual([]);
    expect(leaks(clientText)).toEqual([]);
  });
});
