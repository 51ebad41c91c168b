import { AuthError, createServer, type LifelineServer } from "@lifeline/server";
import { createFakeClock, type FakeClock } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import type { LifelineError } from "../src/errors.js";
import { createClient } from "../src/node.js";
import type { ClientOptions } from "../src/options.js";
import type { TokenContext } from "../src/session/token.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { Collector, waitForState } from "./helpers/wait.js";
import { wireOptions } from "./helpers/wire.js";

// Direct messages, session control and credentials in band, client side, against the real
// @lifeline/server over real sockets (PROTOCOL.md, "Direct messages", "Session control",
// "Credentials in band"). The server's expiry runs on a fake clock the test moves; the
// client's retry delays on a manual clock.

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

type ServerOptions = NonNullable<Parameters<typeof createServer>[0]>;

interface Principal {
  readonly id: string;
  readonly exp: number;
  readonly topics: readonly string[];
}

/** Test tokens `<user>~<expires at>~<topics>`; "bad..." is refused. */
function parse(token: string | undefined): Principal {
  if (token === undefined || token.startsWith("bad")) throw new AuthError("invalid token");
  const [id = "", exp = "0", topics = ""] = token.split("~");
  return { id, exp: Number(exp), topics: topics === "" ? [] : topics.split(",") };
}

async function server(clock: FakeClock, options: Partial<ServerOptions> = {}) {
  const s: LifelineServer = await createServer({
    port: 0,
    logger: false,
    clock,
    heartbeat: { intervalMs: 0 },
    authenticate: (_request, handshake) => parse(handshake.token),
    authorize: (principal, topic) => (principal as Principal).topics.includes(topic),
    credentials: {
      refresh: (token) => parse(token),
      expiresAt: (principal) => (principal as Principal).exp,
      noticeMs: 10_000,
    },
    ...options,
  } as ServerOptions);
  disposers.push(() => s.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 }));
  return s;
}

function client(port: number, options: Partial<ClientOptions> = {}) {
  const clock = new ManualClock();
  const c = createClient({
    ...wireOptions(),
    url: `ws://127.0.0.1:${port}/ws`,
    clientId: "tab-1",
    role: "test",
    clock,
    random: () => 0.5,
    lifecycle: false,
    logLevel: "silent",
    ...options,
  });
  disposers.push(() => c.close());
  return { client: c, clock };
}

/** A token function that records how it was asked and answers from `tokens` in turn. */
function tokenSource(tokens: readonly string[]) {
  const asked: TokenContext[] = [];
  const fn = (context: TokenContext) => {
    asked.push(context);
    return tokens[Math.min(asked.length - 1, tokens.length - 1)];
  };
  return { fn, asked };
}

const token = (user: string, exp: number, topics: string[] = []) =>
  `${user}~${exp}~${topics.join(",")}`;

describe("direct messages", () => {
  it("delivers sendTo on onDirect, once each, across a reconnect", async () => {
    const serverClock = createFakeClock(Date.now());
    const s = await server(serverClock, { credentials: {} });
    const far = serverClock.now() + 3_600_000;
    const { client: c, clock } = client(s.port, { token: token("ada", far) });
    const got = new Collector<unknown>();
    const metas: string[] = [];
    c.onDirect((data, meta) => {
      got.push(data);
      metas.push(meta.topic);
    });
    await waitForState(c, "open");
    await c.request("nothing").catch(() => {});
    await expect.poll(() => s.sendTo({ clientId: "tab-1" }, "one")).toBe(1);
    await got.waitFor(1);
    const reconnecting = waitForState(c, "reconnecting");
    await s.disconnect({ clientId: "tab-1" }, { code: 1011, reason: "blip" });
    const drop = await reconnecting;
    // Sent while the client is away: kept in its inbox.
    expect(await s.sendTo({ user: "ada" }, "two")).toBe(1);
    const open = waitForState(c, "open");
    clock.advance((drop?.snapshot.nextRetryAt ?? 0) - clock.now());
    await open;
    await got.waitFor(2);
    await s.sendTo({ clientId: "tab-1" }, "three");
    await got.waitFor(3);
    expect(got.items).toEqual(["one", "two", "three"]);
    expect(metas).toEqual(["@inbox", "@inbox", "@inbox"]);
    expect(c.stats()).toMatchObject({ gaps: 0, duplicatesDropped: 0 });
  });
});

describe("session control", () => {
  it("goes to failed without reconnecting when disconnected with 4403", async () => {
    const serverClock = createFakeClock(Date.now());
    const s = await server(serverClock);
    const { client: c, clock } = client(s.port, {
      token: () => token("ada", serverClock.now() + 3_600_000),
    });
    await waitForState(c, "open");
    const failed = waitForState(c, "failed");
    await s.disconnect({ user: "ada" }, { reason: "access revoked" });
    expect((await failed)?.cause).toEqual({
      code: 4403,
      reason: "access revoked",
      errorClass: "handshake",
    });
    clock.advance(60_000);
    expect(c.status).toBe("failed");
    expect(c.stats().successfulConnections).toBe(1);
  });
});

describe("credentials in band", () => {
  it("refreshes before expiry without reconnecting", async () => {
    const serverClock = createFakeClock(Date.now());
    const s = await server(serverClock);
    const first = serverClock.now() + 60_000;
    const tokens = tokenSource([token("ada", first), token("ada", first + 60_000)]);
    const { client: c } = client(s.port, { token: tokens.fn });
    await waitForState(c, "open");
    serverClock.advance(50_000);
    await expect
      .poll(() => (s.connections()[0]?.principal as Principal | undefined)?.exp)
      .toBe(first + 60_000);
    expect(tokens.asked.map((a) => a.reason ?? "connect")).toEqual(["connect", "refresh"]);
    expect(tokens.asked[1]).toMatchObject({ attempt: 0, expiresAt: first });
    serverClock.advance(20_000);
    await c.request("nothing").catch(() => {});
    expect(c.status).toBe("open");
    expect(c.stats().successfulConnections).toBe(1);
    expect(c.stats().sent.refresh).toBe(1);
  });

  it("asks the token function once more after a refusal, then fails with cause auth", async () => {
    const serverClock = createFakeClock(Date.now());
    const s = await server(serverClock);
    const exp = serverClock.now() + 30_000;
    const tokens = tokenSource([token("ada", exp), "bad-1", "bad-2"]);
    const { client: c, clock } = client(s.port, { token: tokens.fn });
    await waitForState(c, "open");
    const failed = waitForState(c, "failed");
    serverClock.advance(20_000);
    expect((await failed)?.cause).toEqual({
      code: 4401,
      reason: "credentials refused: invalid token",
      errorClass: "auth",
    });
    expect(tokens.asked.slice(1).map((a) => [a.reason, a.attempt])).toEqual([
      ["refresh", 0],
      ["refresh", 1],
    ]);
    clock.advance(60_000);
    expect(c.status).toBe("failed");
    await expect.poll(() => s.connections().length).toBe(0);
  });

  it("goes on with the second token when the first is refused", async () => {
    const serverClock = createFakeClock(Date.now());
    const s = await server(serverClock);
    const exp = serverClock.now() + 30_000;
    const tokens = tokenSource([token("ada", exp), "bad-1", token("ada", exp + 60_000)]);
    const { client: c } = client(s.port, { token: tokens.fn });
    await waitForState(c, "open");
    serverClock.advance(20_000);
    await expect
      .poll(() => (s.connections()[0]?.principal as Principal | undefined)?.exp)
      .toBe(exp + 60_000);
    serverClock.advance(20_000);
    await c.request("nothing").catch(() => {});
    expect(c.status).toBe("open");
  });

  it("reports a subscription the refreshed credentials no longer allow, and stays open", async () => {
    const serverClock = createFakeClock(Date.now());
    const s = await server(serverClock);
    const exp = serverClock.now() + 30_000;
    const tokens = tokenSource([token("ada", exp, ["a", "b"]), token("ada", exp + 60_000, ["a"])]);
    const { client: c } = client(s.port, { token: tokens.fn });
    const errors: LifelineError[] = [];
    const dropped = new Promise<LifelineError>((resolve) => {
      c.subscribe("b", () => {}, { onError: resolve });
    });
    c.on("error", (e) => errors.push(e));
    const a = new Collector<unknown>();
    c.subscribe("a", (data) => a.push(data));
    await waitForState(c, "open");
    await c.request("nothing").catch(() => {});
    serverClock.advance(20_000);
    const error = await dropped;
    expect(error.code).toBe("forbidden");
    expect(error.message).toMatch(/"b"/);
    expect(errors.map((e) => e.code)).toContain("forbidden");
    await s.publish("a", "still");
    await a.waitFor(1);
    expect(c.status).toBe("open");
    expect(s.connections()[0]?.subscriptions).toEqual(new Set(["a"]));
  });

  it("reconnects once with a fresh token when credentials expired unrefreshed", async () => {
    const serverClock = createFakeClock(Date.now());
    // A server that does not take refresh: credentials expire and it closes 4401.
    const s = await server(serverClock, {
      credentials: { expiresAt: (principal) => (principal as Principal).exp },
    });
    const exp = serverClock.now() + 30_000;
    const tokens = tokenSource([token("ada", exp), token("ada", exp + 3_600_000)]);
    const { client: c, clock } = client(s.port, { token: tokens.fn });
    await waitForState(c, "open");
    const reconnecting = waitForState(c, "reconnecting");
    serverClock.advance(30_000);
    expect((await reconnecting)?.cause).toMatchObject({ code: 4401, errorClass: "auth" });
    const open = waitForState(c, "open");
    clock.advance(0);
    await open;
    expect(tokens.asked.map((a) => a.lastCloseCode)).toEqual([undefined, 4401]);
    expect(c.stats().successfulConnections).toBe(2);
  });

  it("fails with cause auth when credentials expire and the token is a plain string", async () => {
    const serverClock = createFakeClock(Date.now());
    const s = await server(serverClock);
    const { client: c } = client(s.port, { token: token("ada", serverClock.now() + 30_000) });
    await waitForState(c, "open");
    const failed = waitForState(c, "failed");
    serverClock.advance(30_000);
    expect((await failed)?.cause).toEqual({
      code: 4401,
      reason: "credentials expired",
      errorClass: "auth",
    });
  });
});
