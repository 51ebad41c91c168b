import type { HistoryResult, LifelineError } from "@lifeline/client";
import type { LifelineServer } from "@lifeline/server";
import { createDisposer, type RedisServer, startRedisServer, within } from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { brokerMatrix, quietClient } from "./broker-matrix.js";

// client.history() against a real server, on the memory broker and on the Redis broker
// (PROTOCOL.md, "History"): pages of retained messages without subscribing, bounded,
// authorised like a subscribe.

let redis: RedisServer;
const disposer = createDisposer();

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.dispose());
afterEach(() => disposer.run());

const brokers = brokerMatrix(() => redis.url, disposer, "history");

const client = (server: LifelineServer, clientId: string) =>
  quietClient(disposer, server, clientId);

const offsets = (page: HistoryResult) => page.messages.map((m) => m.offset);

describe.each(brokers)("history on the %s broker", (_name, start) => {
  it("pages backward from the head to the oldest retained, newest first", async () => {
    const server = await start(8);
    for (let i = 1; i <= 12; i += 1) await server.publish("chat", { n: i });
    const c = client(server, "scroller");
    const first = await within(c.history("chat", { limit: 3 }), "first page");
    expect(offsets(first)).toEqual([12, 11, 10]);
    expect(first.head).toBe(12);
    expect(first.messages[0]).toEqual({
      topic: "chat",
      data: { n: 12 },
      offset: 12,
      epoch: first.epoch,
      ts: expect.any(Number),
    });
    const seen = [...offsets(first)];
    let next = first.next;
    while (next) {
      const page = await c.history("chat", { since: next, limit: 3 });
      seen.push(...offsets(page));
      next = page.next;
    }
    expect(seen).toEqual([12, 11, 10, 9, 8, 7, 6, 5]);
    expect(c.stats().received.message ?? 0).toBe(0);
    expect(server.stats().topics.subscriptions).toBe(0);
  });

  it("pages forward after a position, oldest first, up to the head", async () => {
    const server = await start(100);
    for (let i = 1; i <= 7; i += 1) await server.publish("log", `line ${i}`);
    const c = client(server, "catch-up");
    const { epoch } = await c.history("log", { limit: 1 });
    const page = await c.history("log", {
      since: { offset: 2, epoch },
      limit: 4,
      direction: "forward",
    });
    expect(page.messages.map((m) => m.data)).toEqual(["line 3", "line 4", "line 5", "line 6"]);
    expect(page.next).toEqual({ offset: 6, epoch });
    const rest = await c.history("log", { since: page.next, limit: 4, direction: "forward" });
    expect(offsets(rest)).toEqual([7]);
    expect(rest.next).toBeUndefined();
  });

  it("a limit past the server's page limit is refused with a clear error; the client stays open", async () => {
    const server = await start(100, { limits: { maxHistoryPage: 10 } });
    await server.publish("t", 1);
    const c = client(server, "greedy");
    const refused = await c.history("t", { limit: 11 }).then(
      () => undefined,
      (error: LifelineError) => error,
    );
    expect(refused?.code).toBe("invalid_message");
    expect(refused?.message).toContain('"limit" to be at most 10');
    expect(offsets(await c.history("t", { limit: 10 }))).toEqual([1]);
    expect(c.status).toBe("open");
  });

  it("is refused forbidden where a subscribe would be", async () => {
    const server = await start(100, { authorize: (_p, topic) => !topic.startsWith("private/") });
    await server.publish("private/notes", "secret");
    const c = client(server, "nosy");
    await expect(c.history("private/notes", { limit: 5 })).rejects.toMatchObject({
      code: "forbidden",
    });
    await expect(c.history("public", { limit: 5 })).resolves.toMatchObject({ messages: [] });
  });

  it("rejects options that are not a page with a RangeError, sending nothing", async () => {
    const server = await start(100);
    const c = client(server, "careless");
    await expect(c.history("t", { limit: 0 })).rejects.toThrow(RangeError);
    await expect(c.history("t", { limit: 5, direction: "sideways" as "forward" })).rejects.toThrow(
      /"direction"/,
    );
    await expect(c.history("t", { limit: 5 })).resolves.toMatchObject({ head: 0 });
    // Sent like a request: only the valid one left the client.
    expect(c.stats().sent.request).toBe(1);
  });
});
