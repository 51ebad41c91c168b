import { afterEach, describe, expect, it } from "vitest";
import {
  captureLogs,
  connect,
  createDisposer,
  handshake,
  ofType,
  openClient,
  startServer,
  wsUrl,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

describe("application hooks that throw never crash the server", () => {
  it("drops the socket when the origin check throws", async () => {
    const logs = captureLogs();
    const s = await startServer({
      logger: logs.logger,
      allowedOrigins: () => {
        throw new Error("origin service down");
      },
    });
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    const outcome = await handshake(s, "client_id=c1&version=1&role=test", {
      origin: "https://x.example",
    });
    expect(outcome).toBe("dropped");
    expect((await logs.waitFor((l) => l.msg === "handshake crashed")).level).toBe(50);
    const fine = await connect(s, "after");
    disposer.add(() => fine.close());
    expect(fine.hello.client_id).toBe("after");
  });

  it("drops the socket when identify throws after authenticate", async () => {
    const s = await startServer({
      authenticate: () => ({ id: 1 }),
      identify: () => {
        throw new Error("bad principal");
      },
    });
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    expect(await handshake(s, "client_id=c1&version=1&role=test")).toBe("dropped");
    expect(s.stats().connections).toMatchObject({ active: 0, pending: 0 });
  });

  it("answers internal when a method returns what JSON cannot encode", async () => {
    const s = await startServer();
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    s.method("big", () => 10n);
    s.method("bigLater", async () => 10n);
    const c = await connect(s, "a");
    disposer.add(() => c.close());
    c.send({ type: "request", id: "1", method: "big" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "1",
      ok: false,
      error: { code: "internal" },
    });
    c.send({ type: "request", id: "2", method: "bigLater" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "2",
      ok: false,
      error: { code: "internal" },
    });
    c.send({ type: "ping" });
    expect(await c.next(ofType("pong"))).toEqual({ type: "pong" });
  });

  it("logs and skips a published value JSON cannot encode, and keeps delivering", async () => {
    const logs = captureLogs();
    const s = await startServer({ logger: logs.logger });
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    const c = await connect(s, "a");
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "s", topic: "t" });
    await c.next(ofType("subscribed"));
    await s.publish("t", { n: 1n });
    await s.publish("t", { n: 2 });
    expect(await c.next(ofType("message"))).toMatchObject({ offset: 2, data: { n: 2 } });
    const line = await logs.waitFor(
      (l) => l.msg === "message could not be encoded as JSON; not delivered",
    );
    expect(line).toMatchObject({ level: 50, topic: "t", offset: 1 });
  });

  it("survives a client that resets the TCP connection mid-handshake", async () => {
    const s = await startServer({
      authenticate: () => new Promise((resolve) => setImmediate(() => resolve("u"))),
    });
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    for (let i = 0; i < 20; i += 1) {
      const c = openClient(wsUrl(s, `client_id=r${i}&version=1&role=test`));
      c.terminate();
    }
    const fine = await connect(s, "steady");
    disposer.add(() => fine.close());
    expect(fine.hello.client_id).toBe("steady");
  });

  it("answers internal when authorize throws, and keeps the connection", async () => {
    const s = await startServer({
      authorize: () => {
        throw new Error("policy engine down");
      },
    });
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    const c = await connect(s, "a");
    disposer.add(() => c.close());
    c.send({ type: "subscribe", id: "s", topic: "t" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "s",
      ok: false,
      error: { code: "internal" },
    });
    c.send({ type: "publish", id: "p", topic: "t", data: 1 });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "p",
      ok: false,
      error: { code: "internal" },
    });
    c.send({ type: "unsubscribe", id: "u", topic: "t" });
    expect(await c.next(ofType("unsubscribed"))).toEqual({
      type: "unsubscribed",
      id: "u",
      topic: "t",
    });
    expect((await s.broker.head("t")).offset).toBe(0);
  });
});
