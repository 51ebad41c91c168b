import { afterEach, describe, expect, it } from "vitest";
import {
  connectClosedAfterEach,
  createDisposer,
  ofType,
  serverClosedAfterEach,
} from "./helpers.js";

// PROTOCOL.md, "History": a page of retained messages without subscribing, bounded in
// size, authorised like a subscribe; bad input is answered and the connection is kept.

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);

const client = (s: { readonly port: number }, id: string) =>
  connectClosedAfterEach(disposer, s, id);

describe("history", () => {
  it("announces history in hello.features", async () => {
    const s = await server();
    const c = await client(s, "features");
    expect(c.hello.features).toContain("history");
  });

  it("answers a page in a response, without subscribing", async () => {
    const s = await server();
    for (let i = 1; i <= 5; i += 1) await s.publish("t", { n: i });
    const c = await client(s, "reader");
    c.send({ type: "history", id: "h1", topic: "t", limit: 2, direction: "backward" });
    const answer = await c.next(ofType("response"));
    const { epoch } = await s.broker.head("t");
    expect(answer).toEqual({
      type: "response",
      id: "h1",
      ok: true,
      result: {
        topic: "t",
        epoch,
        head: 5,
        messages: [
          { offset: 5, data: { n: 5 }, ts: expect.any(Number) },
          { offset: 4, data: { n: 4 }, ts: expect.any(Number) },
        ],
        next: { offset: 4, epoch },
      },
    });
    await s.publish("t", { n: 6 });
    c.send({ type: "ping" });
    await c.next(ofType("pong"));
    expect(c.received.filter((m) => m.type === "message")).toEqual([]);
    expect(s.stats().topics.subscriptions).toBe(0);
  });

  it("refuses a limit past the page limit with a clear error and keeps the connection", async () => {
    const s = await server({ limits: { maxHistoryPage: 50 } });
    const c = await client(s, "greedy");
    c.send({ type: "history", id: "h1", topic: "t", limit: 51, direction: "forward" });
    expect(await c.next(ofType("response"))).toEqual({
      type: "response",
      id: "h1",
      ok: false,
      error: {
        code: "invalid_message",
        message: '"history" expects "limit" to be at most 50, got 51; page with "next"',
      },
    });
    c.send({ type: "history", id: "h2", topic: "t", limit: 50, direction: "forward" });
    expect(await c.next(ofType("response"))).toMatchObject({ id: "h2", ok: true });
  });

  it.each([
    [{ limit: 0, direction: "forward" }, "limit"],
    [{ limit: -1, direction: "forward" }, "limit"],
    [{ limit: 1.5, direction: "forward" }, "limit"],
    [{ limit: "10", direction: "forward" }, "limit"],
    [{ direction: "forward" }, "limit"],
    [{ limit: 10, direction: "up" }, "direction"],
    [{ limit: 10 }, "direction"],
    [{ limit: 10, direction: "forward", since: { offset: -1, epoch: "e" } }, "since.offset"],
    [{ limit: 10, direction: "forward", since: 3 }, "since"],
    [{ limit: 10, direction: "forward", cursor: "x" }, "cursor"],
  ])("answers garbage %j with invalid_message naming %s", async (params, field) => {
    const s = await server();
    const c = await client(s, "garbage");
    c.send({ type: "history", id: "h1", topic: "t", ...params });
    const answer = await c.next(ofType("response"));
    expect(answer).toMatchObject({ id: "h1", ok: false, error: { code: "invalid_message" } });
    expect((answer.error as { message: string }).message).toContain(field);
    c.send({ type: "history", id: "h2", topic: "t", limit: 1, direction: "backward" });
    expect(await c.next(ofType("response"))).toMatchObject({ id: "h2", ok: true });
  });

  it("is authorised like a subscribe: the hook is asked with the subscribe action", async () => {
    const asked: string[] = [];
    const s = await server({
      authorize: (_principal, topic, action) => {
        asked.push(`${action} ${topic}`);
        return topic !== "secret";
      },
    });
    await s.publish("secret", "hidden");
    const c = await client(s, "nosy");
    c.send({ type: "history", id: "h1", topic: "secret", limit: 10, direction: "backward" });
    const answer = await c.next(ofType("response"));
    expect(answer).toMatchObject({ id: "h1", ok: false, error: { code: "forbidden" } });
    expect(JSON.stringify(answer)).not.toContain("hidden");
    c.send({ type: "history", id: "h2", topic: "open", limit: 10, direction: "backward" });
    expect(await c.next(ofType("response"))).toMatchObject({ id: "h2", ok: true });
    expect(asked).toEqual(["subscribe secret", "subscribe open"]);
  });

  it("without a hook and with a contract, only the contract's topics may be read", async () => {
    const { defineContract } = await import("@lifeline/protocol");
    const { Type } = await import("@sinclair/typebox");
    const contract = defineContract({ topics: { declared: Type.Number() } });
    const s = await server({ contract });
    const c = await client(s, "contracted");
    c.send({ type: "history", id: "h1", topic: "other", limit: 1, direction: "forward" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "h1",
      ok: false,
      error: { code: "forbidden" },
    });
    c.send({ type: "history", id: "h2", topic: "declared", limit: 1, direction: "forward" });
    expect(await c.next(ofType("response"))).toMatchObject({ id: "h2", ok: true });
  });
});
