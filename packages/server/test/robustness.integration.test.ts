import type { Socket } from "node:net";
import { countdown, deferred } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import {
  captureLogs,
  connect,
  createDisposer,
  handshake,
  ofType,
  openClient,
  startServer,
  within,
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

  it("survives clients that reset the TCP connection mid-handshake, and holds nothing of theirs", async () => {
    const RESETS = 20;
    const gate = deferred();
    const inAuthenticate = countdown(RESETS);
    const s = await startServer({
      limits: { maxConnectionsPerIp: RESETS + 1 },
      authenticate: async () => {
        inAuthenticate.hit();
        await gate.promise;
        return "u";
      },
    });
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    // The server's side of each reset: it ends (an HTTP server's sockets may stay half open).
    const serverSocketsEnded: Promise<void>[] = [];
    const track = (socket: Socket) => {
      if (serverSocketsEnded.length < RESETS) {
        serverSocketsEnded.push(new Promise((resolve) => socket.once("end", () => resolve())));
      }
    };
    s.httpServer?.on("connection", track);
    const resetting = Array.from({ length: RESETS }, (_, i) =>
      openClient(wsUrl(s, `client_id=r${i}&version=1&role=test`)),
    );
    // Every handshake is held in authenticate: the resets land in the middle of each.
    await inAuthenticate.reached;
    expect(s.stats().connections).toMatchObject({ active: 0, pending: RESETS });
    for (const c of resetting) c.terminate();
    // authenticate answers only once the server has seen every socket go.
    await within(Promise.all(serverSocketsEnded), "the server to see the resets");
    s.httpServer?.off("connection", track);
    gate.resolve();
    const fine = await connect(s, "steady");
    disposer.add(() => fine.close());
    expect(fine.hello.client_id).toBe("steady");
    // The handshakes whose sockets went away were dropped: no slot, no connection left over.
    expect(s.stats().connections).toMatchObject({ active: 1, pending: 0 });
  });

  it("lets a handshake whose client reset during authenticate take over nothing", async () => {
    const gate = deferred();
    const held = deferred();
    let calls = 0;
    const s = await startServer({
      authenticate: async () => {
        calls += 1;
        if (calls === 2) {
          held.resolve();
          await gate.promise;
        }
        return "u";
      },
    });
    disposer.add(() => s.close({ drainTimeoutMs: 100 }));
    const session = await connect(s, "x");
    disposer.add(() => session.close());
    let serverSideEnded: Promise<void> = Promise.resolve();
    s.httpServer?.once("connection", (socket: Socket) => {
      serverSideEnded = new Promise((resolve) => socket.once("end", () => resolve()));
    });
    // The same principal and client_id: accepted, this handshake would take the session over.
    const leaving = openClient(wsUrl(s, "client_id=x&version=1&role=test"));
    await held.promise;
    leaving.terminate();
    await within(serverSideEnded, "the server to see the reset");
    gate.resolve();
    const after = await connect(s, "after");
    disposer.add(() => after.close());
    session.send({ type: "ping" });
    expect(await session.next(ofType("pong"))).toEqual({ type: "pong" });
    expect(s.stats().connections).toMatchObject({ active: 2, pending: 0 });
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
