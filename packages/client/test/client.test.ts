import { describe, expect, it } from "vitest";
import { LifelineError } from "../src/errors.js";
import { createClient } from "../src/index.js";
import { type FakeSocket, fakeSockets } from "./helpers/fake-socket.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { fakeLifecycle, setupClient } from "./helpers/setup.js";

describe("initial connection", () => {
  it("connects on creation, sends the handshake parameters and goes open on hello", async () => {
    const { client, sockets, states, changes } = setupClient({ role: "admin", token: "s3cret" });
    expect(client.status).toBe("idle");
    const socket = await sockets.nth(0);
    expect(socket.query("client_id")).toBe("client-1");
    expect(socket.query("version")).toBe("1");
    expect(socket.query("role")).toBe("admin");
    expect(socket.query("token")).toBe("s3cret");
    expect(socket.protocols).toEqual(["lifeline.v1"]);
    expect(states()).toEqual(["connecting"]);
    socket.open();
    expect(client.status).toBe("connecting");
    socket.accept();
    expect(states()).toEqual(["connecting", "open"]);
    expect(changes[1]?.cause.reason).toBe("the server said hello");
    expect(client.stats()).toMatchObject({
      state: "open",
      successfulConnections: 1,
      serverFeatures: ["resume"],
      url: "ws://lifeline.test/ws",
    });
    client.close();
    expect(socket.closedWith).toEqual({ code: 1000, reason: "closed by the application" });
    expect(states()).toEqual(["connecting", "open", "closed"]);
  });

  it("waits for first use when lazy", async () => {
    const { client, sockets, clock } = setupClient({ lazy: true });
    await Promise.resolve();
    clock.advance(60_000);
    expect(sockets.all).toHaveLength(0);
    client.subscribe("topic/a", () => {});
    const socket = await sockets.nth(0);
    socket.accept();
    expect(socket.ofType("subscribe")).toMatchObject([{ topic: "topic/a" }]);
    client.close();
  });

  it("exposes a store usable by useSyncExternalStore", async () => {
    const { client, sockets } = setupClient();
    const store = client.state;
    expect(client.connection).toBe(store);
    const seen: string[] = [];
    const stop = store.subscribe(() => seen.push(store.getSnapshot().state));
    const before = store.getSnapshot();
    expect(store.getSnapshot()).toBe(before);
    (await sockets.nth(0)).accept();
    stop();
    client.close();
    expect(seen).toEqual(["connecting", "open"]);
  });

  it("refuses an invalid clientId up front", () => {
    expect(() =>
      createClient({ url: "ws://x/ws", clientId: "no spaces allowed", lazy: true }),
    ).toThrow(/clientId/);
  });
});

describe("reconnecting", () => {
  it("retries a drop from open within a jittered second, then resubscribes with since", async () => {
    const { client, sockets, clock, changes } = setupClient({ random: () => 0.37 });
    const seen: number[] = [];
    client.subscribe("t", (data) => seen.push(data as number));
    const first = await sockets.nth(0);
    first.accept();
    const sub = first.ofType("subscribe")[0] as { id: string };
    first.receive({
      type: "subscribed",
      id: sub.id,
      topic: "t",
      offset: 7,
      epoch: "e",
      recovered: true,
      replayed: 0,
    });
    first.receive({ type: "message", topic: "t", offset: 8, epoch: "e", data: 8, ts: 1 });
    first.serverClose(1006);
    const drop = changes.at(-1);
    expect(drop?.next).toBe("reconnecting");
    expect(drop?.cause).toMatchObject({ code: 1006, errorClass: "abnormal" });
    expect(drop?.snapshot.nextRetryAt).toBe(clock.now() + 370);
    expect(clock.pending()).toEqual([370]);
    clock.advance(370);
    const second = await sockets.nth(1);
    second.accept();
    expect(second.ofType("subscribe")).toMatchObject([
      { topic: "t", since: { offset: 8, epoch: "e" } },
    ]);
    expect(seen).toEqual([8]);
    client.close();
  });

  it("follows the backoff schedule and fails once attempts are spent", async () => {
    const { client, sockets, clock, changes } = setupClient({ random: () => 0.999 });
    const delays: number[] = [];
    for (let i = 0; i < 11; i++) {
      (await sockets.nth(i)).fail();
      if (client.status === "failed") break;
      delays.push(clock.runNext() as number);
    }
    expect(delays).toEqual([999, 1998, 3996, 7992, 15984, 29970, 29970, 29970, 29970, 29970]);
    expect(sockets.all).toHaveLength(11);
    expect(client.status).toBe("failed");
    expect(changes.at(-1)?.cause).toMatchObject({
      code: 1006,
      errorClass: "network",
      reason: expect.stringMatching(
        /^gave up after 10 attempts; last: the socket could not be opened: connect ECONNREFUSED/,
      ),
    });
    expect(clock.pending()).toEqual([]);
    expect(client.stats().recentAttempts).toHaveLength(10);
    expect(client.stats().recentAttempts.every((a) => a.errorClass === "network")).toBe(true);
    // reconnect() starts over with a fresh count.
    client.reconnect();
    (await sockets.nth(11)).accept();
    expect(client.getSnapshot()).toMatchObject({ state: "open", attempt: 0 });
    client.close();
  });

  it.each([
    [4400, "handshake"],
    [4401, "auth"],
    [4403, "handshake"],
    [4409, "server_error"],
  ] as const)("stops on fatal close %i and reports it as %s", async (code, errorClass) => {
    const { client, sockets, clock, changes } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    socket.serverClose(code, "nope");
    expect(client.status).toBe("failed");
    expect(changes.at(-1)?.cause).toEqual({ code, reason: "nope", errorClass });
    expect(clock.pending()).toEqual([]);
    clock.advance(3_600_000);
    expect(sockets.all).toHaveLength(1);
    client.close();
  });

  it("honours reconnect_after_ms of a shutdown as a floor, plus jitter", async () => {
    const { client, sockets, clock, changes } = setupClient({ random: () => 0.5 });
    const socket = await sockets.nth(0);
    socket.accept();
    socket.receive({ type: "shutdown", reason: "deploy", reconnect_after_ms: 8000 });
    socket.serverClose(1012, "service restart");
    expect(changes.at(-1)?.cause).toEqual({
      code: 1012,
      reason: "service restart",
      errorClass: "server_error",
    });
    expect(clock.pending()).toEqual([8000 + 0.5 * 4000]);
    client.close();
  });

  it("backs off harder after 4429", async () => {
    const { client, sockets, clock } = setupClient({ random: () => 0.5 });
    const socket = await sockets.nth(0);
    socket.open();
    socket.serverClose(4429, "too many");
    expect(clock.pending()).toEqual([5000 + 500 * 3]);
    client.close();
  });

  it("resets the retry count only after the connection stayed healthy", async () => {
    const { client, sockets, clock } = setupClient({ random: () => 0.999 });
    (await sockets.nth(0)).fail();
    clock.runNext();
    (await sockets.nth(1)).fail();
    clock.runNext();
    const third = await sockets.nth(2);
    third.accept();
    expect(client.getSnapshot().attempt).toBe(2);
    // Drops quickly: the schedule continues instead of starting over.
    clock.advance(5_000);
    third.serverClose(1011);
    expect(clock.pending()).toEqual([3996]);
    clock.runNext();
    const fourth = await sockets.nth(3);
    fourth.accept();
    clock.advance(10_000);
    expect(client.getSnapshot().attempt).toBe(0);
    fourth.serverClose(1011);
    expect(clock.pending()).toEqual([999]);
    client.close();
  });

  it("times out a socket that does not open, and a server that never says hello", async () => {
    const { client, sockets, clock, changes } = setupClient({
      connectTimeoutMs: 2000,
      helloTimeoutMs: 1000,
    });
    const first = await sockets.nth(0);
    clock.advance(2000);
    expect(first.terminated).toBe(true);
    expect(changes.at(-1)?.cause).toEqual({
      reason: "the socket did not open within 2000 ms",
      errorClass: "timeout",
    });
    clock.runNext();
    const second = await sockets.nth(1);
    second.open();
    clock.advance(1000);
    expect(changes.at(-1)?.cause).toMatchObject({
      errorClass: "timeout",
      reason: expect.stringMatching(/no hello within 1000 ms/),
    });
    client.close();
  });

  it("rotates through a list of URLs on failure", async () => {
    const { client, sockets, clock } = setupClient({ url: ["ws://a.test/ws", "ws://b.test/ws"] });
    (await sockets.nth(0)).fail();
    clock.runNext();
    (await sockets.nth(1)).fail();
    clock.runNext();
    const hosts = [await sockets.nth(0), await sockets.nth(1), await sockets.nth(2)].map(
      (s) => new URL(s.url).host,
    );
    expect(hosts).toEqual(["a.test", "b.test", "a.test"]);
    client.close();
  });

  it("asks the token function before every attempt, with the previous close code", async () => {
    const calls: unknown[] = [];
    let n = 0;
    const { client, sockets, clock } = setupClient({
      token: async (context) => {
        calls.push(context);
        n += 1;
        return `t${n}`;
      },
    });
    const first = await sockets.nth(0);
    first.accept();
    first.serverClose(1011);
    clock.runNext();
    const second = await sockets.nth(1);
    expect([first.query("token"), second.query("token")]).toEqual(["t1", "t2"]);
    expect(calls).toEqual([{ attempt: 0 }, { attempt: 1, lastCloseCode: 1011 }]);
    client.close();
  });

  it("counts a throwing token function as a failed attempt and retries", async () => {
    let calls = 0;
    const { client, sockets, clock, changes } = setupClient({
      token: () => {
        calls += 1;
        if (calls === 1) throw new Error("auth server down");
        return "ok";
      },
    });
    await client.state.getSnapshot();
    await new Promise<void>((resolve) => {
      const stop = client.on("state", (c) => {
        if (c.next === "reconnecting") {
          stop();
          resolve();
        }
      });
    });
    expect(changes.at(-1)?.cause).toMatchObject({
      errorClass: "unknown",
      reason: expect.stringMatching(/auth server down/),
    });
    clock.runNext();
    (await sockets.nth(0)).accept();
    expect(client.status).toBe("open");
    client.close();
  });
});

describe("liveness", () => {
  it("answers ping with pong", async () => {
    const { client, sockets } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    socket.receive({ type: "ping" });
    expect(socket.ofType("pong")).toHaveLength(1);
    expect(client.stats().heartbeats.received).toBe(1);
    client.close();
  });

  it("goes degraded, probes, and replaces a half-open socket", async () => {
    const { client, sockets, clock, changes, states } = setupClient({ heartbeatGraceMs: 10_000 });
    const socket = await sockets.nth(0);
    socket.accept({ heartbeat_interval_ms: 25_000 });
    clock.advance(30_000);
    expect(client.status).toBe("degraded");
    expect(socket.ofType("ping")).toHaveLength(1);
    clock.advance(5_000);
    expect(socket.terminated).toBe(true);
    expect(states()).toEqual(["connecting", "open", "degraded", "reconnecting"]);
    expect(changes.at(-1)?.cause).toMatchObject({
      errorClass: "timeout",
      reason: expect.stringMatching(/half-open/),
    });
    clock.runNext();
    (await sockets.nth(1)).accept();
    expect(client.status).toBe("open");
    client.close();
  });

  it("returns to open when the probe is answered", async () => {
    const { client, sockets, clock, states } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    clock.advance(31_000);
    socket.receive({ type: "pong" });
    expect(states()).toEqual(["connecting", "open", "degraded", "open"]);
    clock.advance(20_000);
    expect(client.status).toBe("open");
    client.close();
  });
});

describe("browser lifecycle", () => {
  it("pauses retries while offline and reconnects at once when back online", async () => {
    const page = fakeLifecycle();
    const { client, sockets, clock } = setupClient({ lifecycle: page.lifecycle });
    const socket = await sockets.nth(0);
    socket.accept();
    page.goOffline();
    socket.serverClose(1006);
    expect(client.getSnapshot()).toMatchObject({ state: "reconnecting" });
    expect(client.getSnapshot().nextRetryAt).toBeUndefined();
    expect(clock.pending()).toEqual([]);
    page.goOnline();
    (await sockets.nth(1)).accept();
    expect(client.status).toBe("open");
    client.close();
    expect(page.watching).toBe(false);
  });

  it("cancels a scheduled retry when going offline", async () => {
    const page = fakeLifecycle();
    const { client, sockets, clock } = setupClient({ lifecycle: page.lifecycle });
    (await sockets.nth(0)).fail();
    expect(clock.pending()).toHaveLength(1);
    page.goOffline();
    expect(clock.pending()).toEqual([]);
    expect(client.getSnapshot().nextRetryAt).toBeUndefined();
    client.close();
  });

  it("reconnects at once when the page becomes visible after the socket died, even from failed", async () => {
    const page = fakeLifecycle();
    const { client, sockets, clock } = setupClient({ lifecycle: page.lifecycle });
    (await sockets.nth(0)).fail();
    expect(clock.pending()).toEqual([500]);
    page.becomeVisible();
    const second = await sockets.nth(1);
    second.accept();
    second.serverClose(1000, "bye");
    expect(client.status).toBe("failed");
    page.becomeVisible();
    (await sockets.nth(2)).accept();
    expect(client.status).toBe("open");
    client.close();
  });

  it("checks the link at once when the page becomes visible after a long sleep", async () => {
    const page = fakeLifecycle();
    const { client, sockets, clock } = setupClient({ lifecycle: page.lifecycle });
    const socket = await sockets.nth(0);
    socket.accept({ heartbeat_interval_ms: 25_000 });
    // The page was frozen for 10 minutes: no timer ran.
    clock.jump(600_000);
    page.becomeVisible();
    expect(client.status).toBe("degraded");
    expect(socket.ofType("ping")).toHaveLength(1);
    socket.receive({ type: "pong" });
    expect(client.status).toBe("open");
    client.close();
  });

  it("does not retry a fatal failure on visibility", async () => {
    const page = fakeLifecycle();
    const { client, sockets } = setupClient({ lifecycle: page.lifecycle });
    const socket = await sockets.nth(0);
    socket.accept();
    socket.serverClose(4401, "expired");
    page.becomeVisible();
    page.goOnline();
    await Promise.resolve();
    expect(sockets.all).toHaveLength(1);
    expect(client.status).toBe("failed");
    client.close();
  });
});

describe("messaging", () => {
  it("queues publishes and requests while connecting and flushes them in order on open", async () => {
    const { client, sockets } = setupClient();
    const p1 = client.publish("t", { n: 1 });
    const r1 = client.request("echo", { n: 2 });
    const p2 = client.publish("t", { n: 3 });
    expect(client.stats().queueSize).toBe(3);
    const socket = await sockets.nth(0);
    socket.accept();
    const sent = socket.messages();
    expect(sent.map((m) => m.type)).toEqual(["publish", "request", "publish"]);
    expect(sent.map((m) => (m.data ?? m.params) as { n: number }).map((d) => d.n)).toEqual([
      1, 2, 3,
    ]);
    for (const m of sent) {
      socket.receive(
        m.type === "publish"
          ? { type: "response", id: m.id, ok: true, result: { topic: "t", offset: 1, epoch: "e" } }
          : { type: "response", id: m.id, ok: true, result: { echoed: true } },
      );
    }
    await expect(p1).resolves.toEqual({ topic: "t", offset: 1, epoch: "e" });
    await expect(r1).resolves.toEqual({ echoed: true });
    await expect(p2).resolves.toMatchObject({ topic: "t" });
    client.close();
  });

  it("rejects new messages with queue_full when the outbox is full", async () => {
    const { client } = setupClient({ queue: { max: 2 } });
    void client.publish("t", 1).catch(() => {});
    void client.publish("t", 2).catch(() => {});
    await expect(client.publish("t", 3)).rejects.toMatchObject({ code: "queue_full" });
    await expect(client.request("m")).rejects.toMatchObject({ code: "queue_full" });
    client.close();
  });

  it("resends an unacknowledged publish with the same id after a reconnect, before newer messages", async () => {
    const { client, sockets, clock } = setupClient();
    const first = await sockets.nth(0);
    first.accept();
    const ack = client.publish("t", "x");
    const id = first.ofType("publish")[0]?.id;
    first.serverClose(1006);
    const later = client.publish("t", "y");
    clock.runNext();
    const second = await sockets.nth(1);
    second.accept();
    const resent = second.ofType("publish");
    expect(resent.map((m) => m.id)[0]).toBe(id);
    expect(resent.map((m) => m.data)).toEqual(["x", "y"]);
    second.receive({
      type: "response",
      id: id as string,
      ok: true,
      result: { topic: "t", offset: 3, epoch: "e" },
    });
    await expect(ack).resolves.toEqual({ topic: "t", offset: 3, epoch: "e" });
    expect(client.stats().pendingPublishes).toBe(1);
    client.close();
    await expect(later).rejects.toMatchObject({ code: "closed" });
  });

  it("times a request out, counting time spent queued", async () => {
    const { client, clock } = setupClient();
    const pending = client.request("slow", undefined, { timeoutMs: 500 });
    clock.advance(500);
    await expect(pending).rejects.toMatchObject({
      code: "timeout",
      message: 'request "slow" got no response within 500 ms',
    });
    expect(client.stats().queueSize).toBe(0);
    client.close();
  });

  it("uses the default request timeout of 15 s and sends it as timeout_ms", async () => {
    const { client, sockets, clock } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    const pending = client.request("slow");
    expect(socket.ofType("request")[0]).toMatchObject({ method: "slow", timeout_ms: 15_000 });
    clock.advance(14_999);
    clock.advance(1);
    await expect(pending).rejects.toBeInstanceOf(LifelineError);
    client.close();
  });

  it("rejects with the server's error code", async () => {
    const { client, sockets } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    const pending = client.request("nope");
    const id = socket.ofType("request")[0]?.id as string;
    socket.receive({
      type: "response",
      id,
      ok: false,
      error: { code: "unknown_method", message: "no such method" },
    });
    await expect(pending).rejects.toMatchObject({
      code: "unknown_method",
      message: "no such method",
    });
    client.close();
  });

  it("rejects a request sent on a connection that dropped with connection_lost", async () => {
    const { client, sockets } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    const pending = client.request("m", 1);
    socket.serverClose(1006);
    await expect(pending).rejects.toMatchObject({ code: "connection_lost" });
    client.close();
  });

  it("aborts a queued request through its signal", async () => {
    const { client } = setupClient();
    const controller = new AbortController();
    const pending = client.request("m", 1, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "aborted" });
    expect(client.stats().queueSize).toBe(0);
    client.close();
  });

  it("rejects everything pending with closed on close()", async () => {
    const { client } = setupClient();
    const r = client.request("m");
    const p = client.publish("t", 1);
    client.close();
    await expect(r).rejects.toMatchObject({ code: "closed" });
    await expect(p).rejects.toMatchObject({ code: "closed" });
    await expect(client.request("m")).rejects.toMatchObject({ code: "closed" });
  });

  it("reports an invalid frame as an error event and stays open", async () => {
    const { client, sockets } = setupClient();
    const errors: LifelineError[] = [];
    client.on("error", (e) => errors.push(e));
    const socket = await sockets.nth(0);
    socket.accept();
    socket.receive("{not json");
    socket.receive({ type: "message", topic: "t" });
    expect(errors.map((e) => e.code)).toEqual(["invalid_message", "invalid_message"]);
    expect(client.status).toBe("open");
    client.close();
  });

  it("counts messages by type in stats", async () => {
    const { client, sockets, clock } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    clock.advance(1234);
    socket.receive({ type: "ping" });
    const stats = client.stats();
    expect(stats.received).toEqual({ ping: 1 });
    expect(stats.sent).toEqual({ pong: 1 });
    expect(stats.uptimeMs).toBe(1234);
    expect(stats.lastActivityAt).toBe(clock.now());
    client.close();
  });
});

describe("entry without a WebSocket", () => {
  it("fails the attempt with a clear reason when there is no global WebSocket", async () => {
    const clock = new ManualClock();
    const sockets = fakeSockets();
    const client = createClient({
      url: "ws://x/ws",
      clientId: "c",
      clock,
      lifecycle: false,
      logLevel: "silent",
    });
    const cause = await new Promise((resolve) => {
      client.on("state", (c) => c.next === "reconnecting" && resolve(c.cause));
    });
    expect(cause).toMatchObject({ reason: expect.stringMatching(/no global WebSocket/) });
    expect(sockets.all).toHaveLength(0);
    client.close();
  });
});

describe("subscriptions through the client", () => {
  it("resumes after close() and connect(), and forgets unsubscribed topics", async () => {
    const { client, sockets } = setupClient();
    const offA = client.subscribe("a", () => {});
    client.subscribe("b", () => {});
    const first = await sockets.nth(0);
    first.accept();
    for (const sub of first.ofType("subscribe")) {
      first.receive({
        type: "subscribed",
        id: sub.id as string,
        topic: sub.topic as string,
        offset: 4,
        epoch: "e",
        recovered: true,
        replayed: 0,
      });
    }
    offA();
    expect(first.ofType("unsubscribe")).toMatchObject([{ topic: "a" }]);
    client.close();
    client.connect();
    const second = await sockets.nth(1);
    second.accept();
    expect(second.ofType("subscribe")).toEqual([
      { type: "subscribe", id: expect.any(String), topic: "b", since: { offset: 4, epoch: "e" } },
    ]);
    client.close();
  });

  it("emits every delivered message on the client-wide message event", async () => {
    const { client, sockets } = setupClient();
    const events: unknown[] = [];
    client.on("message", (m) => events.push(m));
    client.subscribe("t", () => {});
    const socket = await sockets.nth(0);
    socket.accept();
    const sub = socket.ofType("subscribe")[0]?.id as string;
    socket.receive({
      type: "subscribed",
      id: sub,
      topic: "t",
      offset: 0,
      epoch: "e",
      recovered: true,
      replayed: 0,
    });
    socket.receive({ type: "message", topic: "t", offset: 1, epoch: "e", data: "x", ts: 5 });
    socket.receive({ type: "message", topic: "t", offset: 1, epoch: "e", data: "x", ts: 5 });
    expect(events).toEqual([{ topic: "t", offset: 1, epoch: "e", data: "x", ts: 5 }]);
    expect(client.stats().duplicatesDropped).toBe(1);
    client.close();
  });

  it("reports a refused subscription through onError and the error event", async () => {
    const { client, sockets } = setupClient();
    const errors: string[] = [];
    client.on("error", (e) => errors.push(`event ${e.code}`));
    client.subscribe("secret", () => {}, { onError: (e) => errors.push(`handler ${e.code}`) });
    const socket = await sockets.nth(0);
    socket.accept();
    const sub = socket.ofType("subscribe")[0]?.id as string;
    socket.receive({ type: "error", code: "forbidden", message: "not yours", id: sub });
    expect(errors).toEqual(["event forbidden", "handler forbidden"]);
    client.close();
  });
});

/** Answers publish `id` as the server does when its broker failed: retryable. */
function refuseOverloaded(socket: FakeSocket, id: unknown): void {
  socket.receive({ type: "response", id, ok: false, error: { code: "overloaded", message: "" } });
}

describe("publish options", () => {
  it("rejects at once when the signal was already aborted", async () => {
    const { client } = setupClient();
    const controller = new AbortController();
    controller.abort();
    await expect(client.publish("t", 1, { signal: controller.signal })).rejects.toMatchObject({
      code: "aborted",
    });
    await expect(client.request("m", 1, { signal: controller.signal })).rejects.toMatchObject({
      code: "aborted",
    });
    expect(client.stats().queueSize).toBe(0);
    client.close();
  });

  it("sends a publish refused as overloaded again with the same id until it is acknowledged", async () => {
    const { client, sockets, clock } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    const ack = client.publish("t", "x");
    const id = socket.ofType("publish")[0]?.id as string;
    const refuse = () =>
      socket.receive({
        type: "response",
        id,
        ok: false,
        error: { code: "overloaded", message: "publish could not be stored; retry later" },
      });
    refuse();
    clock.advance(500);
    refuse();
    clock.advance(1000);
    const sent = socket.ofType("publish");
    expect(sent.map((m) => m.id)).toEqual([id, id, id]);
    socket.receive({
      type: "response",
      id,
      ok: true,
      result: { topic: "t", offset: 7, epoch: "e" },
    });
    await expect(ack).resolves.toEqual({ topic: "t", offset: 7, epoch: "e" });
    expect(client.stats().pendingPublishes).toBe(0);
    client.close();
  });

  it("holds a topic's later publishes behind a refused one and resends them in call order", async () => {
    const { client, sockets, clock } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    void client.publish("t", "a").catch(() => {});
    void client.publish("t", "b").catch(() => {});
    const [a, b] = socket.ofType("publish").map((m) => m.id);
    refuseOverloaded(socket, a);
    // Sent after the refusal: "c" waits behind "a"; another topic goes on.
    void client.publish("t", "c").catch(() => {});
    void client.publish("u", "other").catch(() => {});
    expect(socket.ofType("publish").map((m) => m.data)).toEqual(["a", "b", "other"]);
    refuseOverloaded(socket, b);
    clock.advance(500);
    expect(socket.ofType("publish").map((m) => m.data)).toEqual(["a", "b", "other", "a", "b", "c"]);
    client.close();
  });

  it("ignores the refusal of an earlier send of a publish already sent again", async () => {
    const { client, sockets, clock } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    void client.publish("t", "a").catch(() => {});
    void client.publish("t", "b").catch(() => {});
    const [a, b] = socket.ofType("publish").map((m) => m.id);
    refuseOverloaded(socket, a);
    clock.advance(500);
    // "b" was held with "a" and sent again before the refusal of its first send arrived.
    expect(socket.ofType("publish").map((m) => m.data)).toEqual(["a", "b", "a", "b"]);
    refuseOverloaded(socket, b);
    void client.publish("t", "c").catch(() => {});
    expect(socket.ofType("publish").map((m) => m.data)).toEqual(["a", "b", "a", "b", "c"]);
    client.close();
  });

  it("sends a refused publish nobody waits for again only ahead of the next one to its topic", async () => {
    const { client, sockets, clock } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    const controller = new AbortController();
    const given = client.publish("t", "a", { signal: controller.signal });
    const a = socket.ofType("publish")[0]?.id;
    socket.receive({
      type: "response",
      id: a,
      ok: false,
      error: { code: "overloaded", message: "" },
    });
    controller.abort();
    await expect(given).rejects.toMatchObject({ code: "aborted" });
    clock.advance(5000);
    expect(socket.ofType("publish").map((m) => m.data)).toEqual(["a"]);
    void client.publish("t", "b").catch(() => {});
    expect(socket.ofType("publish").map((m) => m.data)).toEqual(["a"]);
    clock.advance(2000);
    expect(socket.ofType("publish").map((m) => m.data)).toEqual(["a", "a", "b"]);
    expect(client.stats().pendingPublishes).toBe(1);
    client.close();
  });

  it("refuses with queue_full a publish that would hold more than queue.max behind refused ones", async () => {
    const { client, sockets } = setupClient({ queue: { max: 1 } });
    const socket = await sockets.nth(0);
    socket.accept();
    client.publish("t", "a").catch(() => {});
    const a = socket.ofType("publish")[0]?.id;
    socket.receive({
      type: "response",
      id: a,
      ok: false,
      error: { code: "overloaded", message: "" },
    });
    await expect(client.publish("t", "b")).rejects.toMatchObject({ code: "queue_full" });
    client.close();
  });

  it("fails a publish refused for good (forbidden) at once", async () => {
    const { client, sockets } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    const ack = client.publish("t", "x");
    const id = socket.ofType("publish")[0]?.id as string;
    socket.receive({
      type: "response",
      id,
      ok: false,
      error: { code: "forbidden", message: "no" },
    });
    await expect(ack).rejects.toMatchObject({ code: "forbidden" });
    client.close();
  });

  it("gives up waiting for an ack after timeoutMs", async () => {
    const { client, clock } = setupClient();
    const pending = client.publish("t", 1, { timeoutMs: 2000 });
    clock.advance(2000);
    await expect(pending).rejects.toMatchObject({ code: "timeout" });
    expect(client.stats()).toMatchObject({ queueSize: 0, pendingPublishes: 0 });
    client.close();
  });
});

describe("leaving failed", () => {
  it("starts over when the application sends after retries were spent, not after a fatal close", async () => {
    const { client, sockets, clock } = setupClient({
      backoff: {
        kind: "exponential",
        baseMs: 100,
        factor: 2,
        capMs: 100,
        maxAttempts: 1,
        jitter: "none",
      },
    });
    (await sockets.nth(0)).fail();
    clock.runNext();
    (await sockets.nth(1)).fail();
    expect(client.status).toBe("failed");
    const pending = client.request("m", 1);
    const third = await sockets.nth(2);
    third.accept();
    const id = third.ofType("request")[0]?.id as string;
    third.receive({ type: "response", id, ok: true, result: 2 });
    await expect(pending).resolves.toBe(2);
    third.serverClose(4403, "forbidden");
    expect(client.status).toBe("failed");
    void client.publish("t", 1).catch(() => {});
    await Promise.resolve();
    expect(sockets.all).toHaveLength(3);
    client.close();
  });
});

describe("attempt preparation", () => {
  it("bounds a token function that never answers by connectTimeoutMs, then retries", async () => {
    let calls = 0;
    let firstCall: () => void = () => {};
    const called = new Promise<void>((resolve) => {
      firstCall = resolve;
    });
    const { client, sockets, clock, changes } = setupClient({
      connectTimeoutMs: 3000,
      token: () => {
        calls += 1;
        firstCall();
        return calls === 1 ? new Promise<string>(() => {}) : "fresh";
      },
    });
    await called;
    const reconnecting = new Promise((resolve) => {
      client.on("state", (c) => c.next === "reconnecting" && resolve(c.cause));
    });
    clock.advance(3000);
    expect(await reconnecting).toEqual({
      reason: "the attempt could not start: the token function did not answer within 3000 ms",
      errorClass: "timeout",
    });
    clock.runNext();
    const socket = await sockets.nth(0);
    expect(socket.query("token")).toBe("fresh");
    expect(changes.map((c) => c.next)).toEqual(["connecting", "reconnecting", "connecting"]);
    client.close();
  });
});

describe("a WebSocket constructor that throws", () => {
  it("fails the attempt, keeps the token out of the reason, and retries", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const Throwing = class {
      constructor(url: string) {
        calls += 1;
        throw new SyntaxError(`The URL '${url}' is invalid`);
      }
    } as unknown as import("../src/transport/socket.js").WebSocketConstructor;
    const client = createClient({
      url: "ftp://example.test/ws",
      clientId: "c",
      token: "s3cret",
      WebSocket: Throwing,
      clock,
      random: () => 0.5,
      lifecycle: false,
      logLevel: "silent",
    });
    const cause = await new Promise<{ reason: string }>((resolve) => {
      client.on("state", (c) => c.next === "reconnecting" && resolve(c.cause));
    });
    expect(cause.reason).toMatch(/^the socket could not be created: The URL '.*token=\[redacted\]/);
    expect(cause.reason).not.toContain("s3cret");
    expect(calls).toBe(1);
    expect(clock.pending()).toEqual([500]);
    client.close();
  });
});

describe("ping", () => {
  it("resolves with the time until the server's pong and keeps it in stats", async () => {
    const { client, sockets, clock } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept();
    const first = client.ping();
    clock.advance(30);
    const second = client.ping();
    clock.advance(12);
    // The n-th pong answers the n-th ping.
    socket.receive({ type: "pong" });
    socket.receive({ type: "pong" });
    await expect(first).resolves.toBe(42);
    await expect(second).resolves.toBe(12);
    expect(socket.ofType("ping")).toHaveLength(2);
    expect(client.stats().roundTripMs).toBe(12);
    client.close();
  });

  it("measures the watchdog's probes too, so a probe's pong does not answer a later ping", async () => {
    const { client, sockets, clock } = setupClient();
    const socket = await sockets.nth(0);
    socket.accept({ heartbeat_interval_ms: 1000 });
    // Silence past interval + grace / 2 makes the watchdog send a probe ping.
    clock.advance(6000);
    expect(socket.ofType("ping")).toHaveLength(1);
    clock.advance(5);
    let mine: number | undefined;
    void client.ping().then((ms) => {
      mine = ms;
    });
    clock.advance(5);
    socket.receive({ type: "pong" });
    await Promise.resolve();
    expect(client.stats().roundTripMs).toBe(10);
    expect(mine).toBeUndefined();
    socket.receive({ type: "pong" });
    await Promise.resolve();
    expect(mine).toBe(5);
    client.close();
  });

  it("rejects with connection_lost when not open or when the connection drops, and with timeout", async () => {
    const { client, sockets, clock } = setupClient();
    await expect(client.ping()).rejects.toMatchObject({ code: "connection_lost" });
    const socket = await sockets.nth(0);
    socket.accept();
    const timing = client.ping({ timeoutMs: 100 });
    clock.advance(100);
    await expect(timing).rejects.toMatchObject({ code: "timeout" });
    const dropped = client.ping();
    socket.serverClose(1001, "going away");
    await expect(dropped).rejects.toMatchObject({ code: "connection_lost" });
    client.close();
  });
});
