import { afterEach, describe, expect, it } from "vitest";
import { AuthError, type ServerOptions } from "../src/index.js";
import {
  captureLogs,
  connect,
  createDisposer,
  createFakeClock,
  type FakeClock,
  ofType,
  openHandshake,
  serverClosedAfterEach,
  within,
} from "./helpers.js";

// PROTOCOL.md, "Credentials in band": token_expiring ahead of expiry, refresh without
// reconnecting, the 4401 close of credentials left to expire, and subscriptions
// authorised again after a refresh.

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);

interface Principal {
  readonly id: string;
  readonly exp: number;
  readonly topics: readonly string[];
}

/**
 * Tokens are `<user>~<expires at ms>~<topic>,<topic>`; "bad" anything is refused. Test
 * stand-ins for signed tokens: the format is not what is being tested.
 */
function parse(token: string | undefined): Principal {
  if (token === undefined || token.startsWith("bad")) throw new AuthError("invalid token");
  const [id = "", exp = "0", topics = ""] = token.split("~");
  return { id, exp: Number(exp), topics: topics === "" ? [] : topics.split(",") };
}

function options(clock: FakeClock, extra: Partial<ServerOptions<Principal>> = {}) {
  return {
    clock,
    // Heartbeats run on the fake clock too: a jump of a minute would find every client silent.
    heartbeat: { intervalMs: 0 },
    authenticate: (_request, handshake) => parse(handshake.token),
    authorize: (principal, topic) => principal.topics.includes(topic),
    credentials: {
      refresh: (token) => parse(token),
      expiresAt: (principal) => principal.exp,
      noticeMs: 10_000,
    },
    ...extra,
  } satisfies ServerOptions<Principal>;
}

const token = (user: string, exp: number, topics: string[] = []) =>
  `${user}~${exp}~${topics.join(",")}`;

async function client(s: { readonly port: number }, clientId: string, t: string) {
  const c = await connect(s, clientId, `&token=${encodeURIComponent(t)}`);
  disposer.add(() => c.close());
  return c;
}

describe("credentials in band", () => {
  it("announces refresh, warns before expiry and refreshes without reconnecting", async () => {
    const clock = createFakeClock(Date.now());
    const s = await server(options(clock) as ServerOptions);
    const exp = clock.now() + 60_000;
    const c = await client(s, "tab-1", token("ada", exp));
    expect(c.hello.features).toContain("refresh");
    clock.advance(49_999);
    c.send({ type: "ping" });
    await c.next(ofType("pong"));
    expect(c.received.some((m) => m.type === "token_expiring")).toBe(false);
    clock.advance(1);
    expect(await c.next(ofType("token_expiring"))).toEqual({
      type: "token_expiring",
      expires_at: exp,
    });
    const later = exp + 60_000;
    c.send({ type: "refresh", id: "r1", token: token("ada", later) });
    expect(await c.next(ofType("response"))).toEqual({
      type: "response",
      id: "r1",
      ok: true,
      result: { expires_at: later, forbidden: [] },
    });
    clock.advance(30_000);
    c.send({ type: "ping" });
    await c.next(ofType("pong"));
    expect(c.isOpen()).toBe(true);
    clock.advance(60_000);
    expect(await within(c.closed, "closed at the new expiry")).toEqual({
      code: 4401,
      reason: "credentials expired",
    });
  });

  it("announces at once credentials that expire within the notice", async () => {
    const clock = createFakeClock(Date.now());
    const s = await server(options(clock) as ServerOptions);
    const exp = clock.now() + 5000;
    const c = await client(s, "tab-1", token("ada", exp));
    clock.advance(0);
    expect(await c.next(ofType("token_expiring"))).toMatchObject({ expires_at: exp });
  });

  it("closes with 4401 when credentials expire unrefreshed", async () => {
    const clock = createFakeClock(Date.now());
    const s = await server(options(clock) as ServerOptions);
    const c = await client(s, "tab-1", token("ada", clock.now() + 20_000));
    clock.advance(20_000);
    expect(await within(c.closed, "closed")).toEqual({ code: 4401, reason: "credentials expired" });
    await expect.poll(() => s.stats().closes["4401"]).toBe(1);
  });

  it("refuses a refresh into another identity and keeps the old expiry", async () => {
    const clock = createFakeClock(Date.now());
    const s = await server(options(clock) as ServerOptions);
    const exp = clock.now() + 20_000;
    const c = await client(s, "tab-1", token("ada", exp));
    c.send({ type: "refresh", id: "r1", token: token("root", exp + 3_600_000) });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "r1",
      ok: false,
      error: { code: "unauthorized", message: expect.stringMatching(/identity/) },
    });
    c.send({ type: "refresh", id: "r2", token: "bad-token" });
    expect(await c.next(ofType("response", (m) => m.id === "r2"))).toMatchObject({
      ok: false,
      error: { code: "unauthorized", message: "invalid token" },
    });
    expect((await s.sessions({ user: "ada" })).length).toBe(1);
    clock.advance(20_000);
    expect((await within(c.closed, "closed")).code).toBe(4401);
  });

  it("drops a subscription the new credentials do not allow, with an event, and stays open", async () => {
    const clock = createFakeClock(Date.now());
    const s = await server(options(clock) as ServerOptions);
    const exp = clock.now() + 60_000;
    const c = await client(s, "tab-1", token("ada", exp, ["a", "b"]));
    for (const topic of ["a", "b"]) {
      c.send({ type: "subscribe", id: `s-${topic}`, topic });
      await c.next(ofType("subscribed", (m) => m.topic === topic));
    }
    c.send({ type: "refresh", id: "r1", token: token("ada", exp, ["a"]) });
    expect(await c.next(ofType("unsubscribed"))).toEqual({
      type: "unsubscribed",
      id: "r1",
      topic: "b",
    });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "r1",
      ok: true,
      result: { forbidden: ["b"] },
    });
    await s.publish("b", "not for ada any more");
    await s.publish("a", "still hers");
    expect((await c.next(ofType("message"))).topic).toBe("a");
    expect(c.received.filter((m) => m.type === "message").map((m) => m.topic)).toEqual(["a"]);
    c.send({ type: "subscribe", id: "again", topic: "b" });
    expect(await c.next(ofType("response", (m) => m.id === "again"))).toMatchObject({
      error: { code: "forbidden" },
    });
  });

  it("answers refresh unknown_type on a server without the hook", async () => {
    const s = await server();
    const c = await connect(s, "tab-1");
    disposer.add(() => c.close());
    expect(c.hello.features).not.toContain("refresh");
    c.send({ type: "refresh", id: "r1", token: "x" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "r1",
      ok: false,
      error: { code: "unknown_type" },
    });
  });

  it("never writes a token to its logs, status or metrics", async () => {
    const clock = createFakeClock(Date.now());
    const logs = captureLogs();
    const secret = (n: number) => `ada~${clock.now() + 20_000}~s3cr3t-${n}`;
    const s = await server({
      ...options(clock, {
        credentials: {
          refresh: (t) => {
            if (t.includes("s3cr3t-3")) throw new Error(`hook choked on ${t}`);
            return parse(t);
          },
          expiresAt: (principal) => principal.exp,
        },
      }),
      logger: logs.logger,
      status: { enabled: true },
    } as ServerOptions);
    const c = await client(s, "tab-1", secret(1));
    c.send({ type: "refresh", id: "r2", token: secret(2) });
    await c.next(ofType("response", (m) => m.id === "r2"));
    c.send({ type: "refresh", id: "r3", token: secret(3) });
    expect(await c.next(ofType("response", (m) => m.id === "r3"))).toMatchObject({
      error: { code: "internal", message: "internal server error" },
    });
    c.send({ type: "refresh", id: "r4", token: 42 });
    await c.next(ofType("response", (m) => m.id === "r4"));
    const refused = await openHandshake(
      s,
      "client_id=tab-2&version=1&role=test&token=bad-s3cr3t-5",
    );
    expect((await within(refused.closed, "refused")).code).toBe(4401);
    const status = await (await fetch(`http://127.0.0.1:${s.port}/api/websocket/status`)).text();
    const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    clock.advance(20_000);
    await within(c.closed, "closed");
    await logs.waitFor((line) => line.msg === "connection closed");
    const written = [...logs.raw, status, metrics, JSON.stringify(s.stats())].join("\n");
    expect(logs.raw.some((line) => line.includes("refresh hook failed"))).toBe(true);
    expect(written).not.toMatch(/s3cr3t/);
  });
});
