import { createClient, type LifelineClient } from "@lifeline/client";
import { createDisposer, createFakeClock, type FakeClock, within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { startDemoServer } from "../src/app.js";
import { createDemoMemoryBroker } from "../src/broker.js";
import { parseConfig } from "../src/config.js";

// The demo's sign-in (a user name, a signed short-lived token refreshed in band) and its
// admin action (disconnect a user), over real sockets.

const ADMIN_TOKEN = "s3cret-admin-token-0123";
const disposer = createDisposer();
afterEach(() => disposer.run());

async function start(clock: FakeClock, isTrustedAddress = (_: string) => false) {
  const broker = createDemoMemoryBroker();
  const env = { PORT: "0", LOG_LEVEL: "silent", LIFELINE_ADMIN_TOKEN: ADMIN_TOKEN };
  const demo = await startDemoServer({
    config: parseConfig(env),
    broker,
    clock,
    isTrustedAddress,
    tokenTtlMs: 60_000,
  });
  disposer.add(() => broker.close());
  disposer.add(() => demo.close());
  return demo;
}

async function post(
  port: number,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A page signed in as `user`: its token function signs in again for every refresh. */
function page(port: number, clientId: string, user: string) {
  const asked: (string | undefined)[] = [];
  const client: LifelineClient = createClient({
    url: `ws://127.0.0.1:${port}/ws`,
    clientId,
    lifecycle: false,
    logLevel: "silent",
    token: async (context) => {
      asked.push(context.reason);
      return (await post(port, "/api/login", { user })).body.token as string;
    },
  });
  disposer.add(() => client.close());
  return { client, asked };
}

function stateOf(client: LifelineClient, state: string) {
  return within(
    new Promise<void>((resolve) => {
      if (client.status === state) resolve();
      const stop = client.subscribeState((change) => {
        if (change.next !== state) return;
        stop();
        resolve();
      });
    }),
    `state ${state}`,
  );
}

describe("demo sign-in", () => {
  it("issues a signed token for a user name and refuses garbage", async () => {
    const demo = await start(createFakeClock(Date.now()));
    const ok = await post(demo.port, "/api/login", { user: "ada" });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ token: expect.any(String), expires_at: expect.any(Number) });
    for (const bad of [{ user: "" }, { user: 5 }, { user: "x".repeat(33) }, "not json", null]) {
      const answer = await post(demo.port, "/api/login", bad);
      expect(answer.status, JSON.stringify(bad)).toBe(400);
      expect(answer.body.error).toEqual(expect.any(String));
    }
    const big = await post(demo.port, "/api/login", { user: "a".repeat(4000) });
    expect(big.status).toBe(400);
    const get = await fetch(`http://127.0.0.1:${demo.port}/api/login`);
    expect(get.status).toBe(405);
  });

  it("connects a signed-in page as its user and refreshes the token in band", async () => {
    const clock = createFakeClock(Date.now());
    const demo = await start(clock);
    const { client, asked } = page(demo.port, "page-1", "ada");
    await stateOf(client, "open");
    expect(demo.lifeline.connections()[0]?.principal?.id).toBe("ada");
    const firstExp = demo.lifeline.connections()[0]?.principal?.exp ?? 0;
    clock.advance(40_000);
    await expect
      .poll(() => demo.lifeline.connections()[0]?.principal?.exp ?? 0)
      .toBeGreaterThan(firstExp);
    expect(asked).toEqual([undefined, "refresh"]);
    clock.advance(30_000);
    await client.request("echo", null);
    expect(client.stats().successfulConnections).toBe(1);
  });

  it("refuses a token this server did not sign", async () => {
    const demo = await start(createFakeClock(Date.now()));
    const forged = Buffer.from(JSON.stringify({ u: "root", exp: Date.now() + 1e6 })).toString(
      "base64url",
    );
    const client = createClient({
      url: `ws://127.0.0.1:${demo.port}/ws`,
      clientId: "forger",
      lifecycle: false,
      logLevel: "silent",
      token: `${forged}.AAAA`,
    });
    disposer.add(() => client.close());
    await stateOf(client, "failed");
    expect(client.getSnapshot().cause).toMatchObject({ code: 4401, errorClass: "auth" });
  });
});

describe("demo admin: disconnect a user", () => {
  it("closes every page of the user with 4403, for the admin token only", async () => {
    const demo = await start(createFakeClock(Date.now()));
    const one = page(demo.port, "ada-1", "ada");
    const two = page(demo.port, "ada-2", "ada");
    const bob = page(demo.port, "bob-1", "bob");
    await Promise.all([one, two, bob].map((p) => stateOf(p.client, "open")));
    const refused = await post(demo.port, "/api/admin/disconnect", { user: "ada" });
    expect(refused.status).toBe(403);
    const wrong = await post(
      demo.port,
      "/api/admin/disconnect",
      { user: "ada" },
      {
        authorization: "Bearer wrong-token-0123456789",
      },
    );
    expect(wrong.status).toBe(403);
    expect(one.client.status).toBe("open");
    const done = await post(
      demo.port,
      "/api/admin/disconnect",
      { user: "ada" },
      {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      },
    );
    expect(done).toEqual({ status: 200, body: { user: "ada", disconnected: 2 } });
    await Promise.all([stateOf(one.client, "failed"), stateOf(two.client, "failed")]);
    expect(one.client.getSnapshot().cause).toMatchObject({
      code: 4403,
      reason: "disconnected by an operator",
    });
    await bob.client.request("echo", null);
    expect(bob.client.status).toBe("open");
  });
});
