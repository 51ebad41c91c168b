import { afterEach, describe, expect, it } from "vitest";
import type { LimitOptions, ServerOptions } from "../src/index.js";
import {
  captureLogs,
  connect,
  createDisposer,
  createFakeClock,
  handshake,
  type LogCapture,
  ofType,
  openHandshake,
  serverClosedAfterEach,
  type TestClient,
} from "./helpers.js";

// The resource limits of PROTOCOL.md "Limits" on every wire of the matrix (vitest.matrix.ts):
// an SSE connection's posts reach the same dispatcher, and its handshakes the same admission
// and buckets, as a WebSocket's. The attacks at scale, with their memory, are in the
// security suite (test/security/resource-limits.test.ts).

const disposer = createDisposer();
afterEach(() => disposer.run());
const server = serverClosedAfterEach(disposer);

/** Sent in every handshake of this file: a refusal's log line must never carry it. */
const TOKEN = "tok-3c1f9e-never-logged";

/** A server logging into memory; it lets clients publish (topics are server-owned otherwise). */
async function serverWithLogs(limits: LimitOptions, more: ServerOptions = {}) {
  const logs = captureLogs();
  const s = await server({ logger: logs.logger, authorize: () => true, limits, ...more });
  return { s, logs };
}

async function client(s: { readonly port: number }, clientId: string): Promise<TestClient> {
  const c = await connect(s, clientId, `&token=${TOKEN}`);
  disposer.add(() => c.close());
  return c;
}

/** The warn lines naming `limit`, after checking that no line carries the token. */
function warnings(logs: LogCapture, limit: string): Record<string, unknown>[] {
  expect(logs.raw.filter((line) => line.includes(TOKEN))).toEqual([]);
  return logs.lines.filter((line) => line.level === 40 && line.limit === limit);
}

/** The code of the failed response to `id`, or "ok". */
async function answerTo(c: TestClient, id: string): Promise<string> {
  const m = await c.next((message) => message.id === id && message.type !== "message", id);
  if (m.type === "subscribed" || m.ok === true) return "ok";
  return (m.error as { code: string }).code;
}

describe("resource limits on this wire", () => {
  it("answers a subscribe past maxSubscriptionsPerConnection with limit_exceeded and keeps the connection", async () => {
    const { s, logs } = await serverWithLogs({ maxSubscriptionsPerConnection: 3 });
    const c = await client(s, "a");
    const ids = ["s0", "s1", "s2", "s3", "s4"];
    for (const [n, id] of ids.entries()) c.send({ type: "subscribe", id, topic: `t${n}` });
    const answers = [];
    for (const id of ids) answers.push(await answerTo(c, id));
    expect(answers).toEqual(["ok", "ok", "ok", "limit_exceeded", "limit_exceeded"]);
    // Kept: a held topic may be asked for again, and one released makes room.
    c.send({ type: "subscribe", id: "again", topic: "t0" });
    expect(await answerTo(c, "again")).toBe("ok");
    c.send({ type: "unsubscribe", id: "u", topic: "t1" });
    await c.next(ofType("unsubscribed"));
    c.send({ type: "subscribe", id: "room", topic: "t9" });
    expect(await answerTo(c, "room")).toBe("ok");
    expect(s.stats().limitRefusals).toEqual({ maxSubscriptionsPerConnection: 2 });
    expect(warnings(logs, "maxSubscriptionsPerConnection")).toMatchObject([
      { client_id: "a", msg: "refused: maxSubscriptionsPerConnection reached" },
    ]);
  });

  it("answers a request past maxPendingRequestsPerConnection with rate_limited until one is answered", async () => {
    const { s, logs } = await serverWithLogs({ maxPendingRequestsPerConnection: 2 });
    const held: (() => void)[] = [];
    let thirdCall: () => void = () => {};
    const thirdCalled = new Promise<void>((resolve) => {
      thirdCall = resolve;
    });
    s.method("hold", () => {
      const answer = new Promise<string>((resolve) => held.push(() => resolve("done")));
      if (held.length === 3) thirdCall();
      return answer;
    });
    const c = await client(s, "a");
    for (const id of ["r0", "r1", "r2", "r3"]) c.send({ type: "request", id, method: "hold" });
    expect([await answerTo(c, "r2"), await answerTo(c, "r3")]).toEqual([
      "rate_limited",
      "rate_limited",
    ]);
    expect(held).toHaveLength(2);
    held[0]?.();
    expect(await answerTo(c, "r0")).toBe("ok");
    // A slot freed by an answer is usable again.
    c.send({ type: "request", id: "r4", method: "hold" });
    await thirdCalled;
    held[1]?.();
    held[2]?.();
    expect([await answerTo(c, "r1"), await answerTo(c, "r4")]).toEqual(["ok", "ok"]);
    expect(s.stats().limitRefusals).toEqual({ maxPendingRequestsPerConnection: 2 });
    expect(warnings(logs, "maxPendingRequestsPerConnection")).toHaveLength(1);
  });

  it("answers a subscribe or publish creating a topic past maxTopics with overloaded", async () => {
    const { s, logs } = await serverWithLogs({ maxTopics: 2 });
    const c = await client(s, "a");
    c.send({ type: "subscribe", id: "s1", topic: "one" });
    expect(await answerTo(c, "s1")).toBe("ok");
    c.send({ type: "publish", id: "p2", topic: "two", data: 2 });
    expect(await answerTo(c, "p2")).toBe("ok");
    c.send({ type: "subscribe", id: "s3", topic: "three" });
    c.send({ type: "publish", id: "p4", topic: "four", data: 4 });
    expect([await answerTo(c, "s3"), await answerTo(c, "p4")]).toEqual([
      "overloaded",
      "overloaded",
    ]);
    c.send({ type: "publish", id: "p5", topic: "one", data: 5 });
    expect(await answerTo(c, "p5")).toBe("ok");
    expect(s.stats().limitRefusals).toEqual({ maxTopics: 2 });
    expect(warnings(logs, "maxTopics")).toHaveLength(1);
  });

  it("refuses handshakes past the per-address rate with HTTP 429, and admits again once the bucket refills", async () => {
    const clock = createFakeClock();
    const { s, logs } = await serverWithLogs(
      { handshakeRate: { perAddressBurst: 2, perAddressPerSecond: 1 } },
      { clock },
    );
    await client(s, "a");
    await client(s, "b");
    expect(await handshake(s, `client_id=c&version=1&role=test&token=${TOKEN}`)).toBe("http 429");
    expect(await handshake(s, `client_id=d&version=1&role=test&token=${TOKEN}`)).toBe("http 429");
    clock.advance(1000);
    await client(s, "c");
    expect(s.stats().limitRefusals).toEqual({ "handshakeRate.perAddress": 2 });
    expect(s.stats().handshakeFailures).toMatchObject({ handshake_rate_per_address: 2 });
    expect(warnings(logs, "handshakeRate.perAddress")).toMatchObject([
      { remote_address: "127.0.0.1" },
    ]);
  });

  it("closes a client_id's handshakes past its rate with 4429; other client_ids get in", async () => {
    const clock = createFakeClock();
    const { s, logs } = await serverWithLogs(
      { handshakeRate: { perClientBurst: 2, perClientPerSecond: 1 } },
      { clock },
    );
    for (let i = 0; i < 2; i += 1) await (await client(s, "looping")).close();
    const refused = await openHandshake(s, `client_id=looping&version=1&role=test&token=${TOKEN}`);
    expect((await refused.closed).code).toBe(4429);
    await client(s, "other");
    clock.advance(1000);
    await client(s, "looping");
    expect(s.stats().limitRefusals).toEqual({ "handshakeRate.perClient": 1 });
    expect(warnings(logs, "handshakeRate.perClient")).toMatchObject([{ client_id: "looping" }]);
  });
});
