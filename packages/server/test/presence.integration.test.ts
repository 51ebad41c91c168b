import type { Message } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { AuthError } from "../src/index.js";
import {
  connectClosedAfterEach,
  createDisposer,
  ofType,
  serverClosedAfterEach,
} from "./helpers.js";

// PROTOCOL.md, "Presence": members are subscribers counted once per client_id, a presence
// query lists them, subscriptions opened with presence: true get batched presence_diffs,
// and a member whose connection dropped is held for the grace period.

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);
const client = (s: { readonly port: number }, id: string, query = "") =>
  connectClosedAfterEach(disposer, s, id, query);

const everyTopic = () => true;
const ids = (members: unknown) => (members as { client_id: string }[]).map((m) => m.client_id);

async function subscribe(c: Awaited<ReturnType<typeof client>>, topic: string, presence = false) {
  const id = `s-${topic}-${c.received.length}`;
  c.send({ type: "subscribe", id, topic, ...(presence ? { presence: true } : {}) });
  await c.next(ofType("subscribed", (m) => m.id === id));
}

async function query(c: Awaited<ReturnType<typeof client>>, topic: string): Promise<Message> {
  const id = `p-${c.received.length}-${Math.random()}`;
  c.send({ type: "presence", id, topic });
  return c.next(ofType("response", (m) => m.id === id));
}

const diffOf = (topic: string) => ofType("presence_diff", (m) => m.topic === topic);

describe("presence", () => {
  it("is announced in hello.features only when the server keeps it", async () => {
    const off = await client(await server(), "off");
    expect(off.hello.features).not.toContain("presence");
    const on = await client(await server({ presence: everyTopic }), "on");
    expect(on.hello.features).toContain("presence");
  });

  it("lists the subscribers of a topic once per client_id, with joined_at", async () => {
    const s = await server({ presence: everyTopic });
    const a = await client(s, "alice-tab");
    const b = await client(s, "bob-tab");
    const before = Date.now();
    await subscribe(a, "room");
    await subscribe(b, "room");
    await subscribe(a, "room"); // subscribing again is still one member
    const answer = await query(a, "room");
    expect(answer).toMatchObject({ ok: true, result: { topic: "room", count: 2 } });
    const result = answer.result as { members: { client_id: string; joined_at: number }[] };
    expect(ids(result.members).sort()).toEqual(["alice-tab", "bob-tab"]);
    for (const member of result.members) {
      expect(member.joined_at).toBeGreaterThanOrEqual(before - 1000);
      expect(Object.keys(member).sort()).toEqual(["client_id", "joined_at"]);
    }
    const empty = await query(a, "elsewhere");
    expect(empty).toMatchObject({
      ok: true,
      result: { topic: "elsewhere", count: 0, members: [] },
    });
  });

  it("sends joins and leaves to subscriptions opened with presence: true", async () => {
    const s = await server({ presence: { topics: everyTopic, diffIntervalMs: 20 } });
    const watcher = await client(s, "watcher");
    const plain = await client(s, "plain");
    await subscribe(watcher, "room", true);
    await subscribe(plain, "room");
    const joined: Message[] = [];
    while (joined.length < 2) {
      const diff = await watcher.next(diffOf("room"));
      expect(diff.leaves).toEqual([]);
      joined.push(...(diff.joins as Message[]));
    }
    expect(joined.sort((x, y) => String(x.client_id).localeCompare(String(y.client_id)))).toEqual([
      { client_id: "plain", joined_at: expect.any(Number) },
      { client_id: "watcher", joined_at: expect.any(Number) },
    ]);
    plain.send({ type: "unsubscribe", id: "u1", topic: "room" });
    const left = await watcher.next(diffOf("room"));
    expect(left).toMatchObject({ joins: [], leaves: [{ client_id: "plain" }] });
    // A subscriber without presence: true gets no diffs.
    expect(plain.received.filter((m) => m.type === "presence_diff")).toEqual([]);
  });

  it("batches a burst of joins into a handful of diffs", async () => {
    const s = await server({ presence: { topics: everyTopic, diffIntervalMs: 200 } });
    const watcher = await client(s, "watcher");
    await subscribe(watcher, "crowd", true);
    const crowd = await Promise.all(Array.from({ length: 60 }, (_, i) => client(s, `member-${i}`)));
    await Promise.all(crowd.map((c) => subscribe(c, "crowd")));
    const joined = new Set<string>();
    let diffs = 0;
    while (joined.size < 61) {
      const diff = await watcher.next(diffOf("crowd"));
      diffs += 1;
      for (const id of ids(diff.joins)) joined.add(id);
    }
    expect(diffs).toBeLessThanOrEqual(5);
  });

  it("holds a dropped member for the grace period: a reconnect within it is no leave", async () => {
    const s = await server({ presence: { topics: everyTopic, graceMs: 1500, diffIntervalMs: 20 } });
    const watcher = await client(s, "watcher");
    await subscribe(watcher, "room", true);
    const flaky = await client(s, "flaky");
    await subscribe(flaky, "room");
    await watcher.next(ofType("presence_diff", (m) => ids(m.joins).includes("flaky")));
    flaky.terminate();
    await flaky.closed;
    const back = await client(s, "flaky");
    await subscribe(back, "room");
    // A marker joining after the reconnect: its diff comes a tick later, so any leave or
    // join of "flaky" would have come by then (diffs are sent in order).
    const marker = await client(s, "marker");
    await subscribe(marker, "room");
    await watcher.next(ofType("presence_diff", (m) => ids(m.joins).includes("marker")));
    const later = await query(watcher, "room");
    expect(ids((later.result as { members: unknown }).members).sort()).toEqual([
      "flaky",
      "marker",
      "watcher",
    ]);
    const leaves = watcher.received
      .filter((m) => m.type === "presence_diff")
      .flatMap((m) => ids(m.leaves));
    expect(leaves).toEqual([]);
  });

  it("a closed member leaves after the grace period; an unsubscribe leaves at once", async () => {
    const s = await server({ presence: { topics: everyTopic, graceMs: 300, diffIntervalMs: 20 } });
    const watcher = await client(s, "watcher");
    await subscribe(watcher, "room", true);
    const dropped = await client(s, "dropped");
    const polite = await client(s, "polite");
    await subscribe(dropped, "room");
    await subscribe(polite, "room");
    const seen = new Set<string>();
    while (!(seen.has("dropped") && seen.has("polite"))) {
      for (const id of ids((await watcher.next(diffOf("room"))).joins)) seen.add(id);
    }
    const dropAt = Date.now();
    await dropped.close();
    polite.send({ type: "unsubscribe", id: "bye", topic: "room" });
    const leaving = ofType("presence_diff", (m) => ids(m.leaves).length > 0);
    const first = await watcher.next(leaving);
    expect(ids(first.leaves)).toEqual(["polite"]);
    const second = await watcher.next(leaving);
    expect(ids(second.leaves)).toEqual(["dropped"]);
    expect(Date.now() - dropAt).toBeGreaterThanOrEqual(290);
  });

  it("carries the user authentication gave, never the token", async () => {
    const token = "tok-SECRET-presence-4f2a";
    const s = await server({
      presence: { topics: everyTopic, diffIntervalMs: 20 },
      authenticate: (_request, handshake) => {
        if (handshake.token !== token) throw new AuthError("bad token");
        return { id: `user-of-${handshake.clientId}`, token: handshake.token };
      },
    });
    const c = await client(s, "carol", `&token=${token}`);
    await subscribe(c, "room", true);
    const diff = await c.next(diffOf("room"));
    expect(diff.joins).toEqual([
      { client_id: "carol", user: "user-of-carol", joined_at: expect.any(Number) },
    ]);
    const answer = await query(c, "room");
    expect((answer.result as { members: unknown[] }).members).toEqual(diff.joins);
    expect(JSON.stringify(c.received)).not.toContain(token);
  });

  it("refuses the presence of a topic the client may not subscribe to, and keeps the connection", async () => {
    const s = await server({
      presence: everyTopic,
      authorize: (_principal, topic) => !topic.startsWith("secret/"),
    });
    const spy = await client(s, "spy");
    const insider = await client(s, "insider");
    await subscribe(insider, "room");
    expect(await query(spy, "secret/plans")).toMatchObject({
      ok: false,
      error: { code: "forbidden", message: 'not allowed to see the presence of "secret/plans"' },
    });
    expect(await query(spy, "room")).toMatchObject({ ok: true, result: { count: 1 } });
  });

  it("answers presence on a topic without it, and garbage, with clear errors", async () => {
    const s = await server({ presence: (topic) => topic.startsWith("shared/") });
    const c = await client(s, "c");
    expect(await query(c, "private")).toMatchObject({
      ok: false,
      error: { code: "forbidden", message: 'this server keeps no presence for "private"' },
    });
    c.send({ type: "presence", id: "bad", topic: "" });
    expect(await c.next(ofType("response", (m) => m.id === "bad"))).toMatchObject({
      ok: false,
      error: { code: "invalid_message" },
    });
    c.send({ type: "presence", topic: "shared/x" });
    expect(await c.next(ofType("error"))).toMatchObject({ code: "invalid_message" });
    c.send({ type: "subscribe", id: "s1", topic: "shared/x", presence: "yes" });
    expect(await c.next(ofType("response", (m) => m.id === "s1"))).toMatchObject({
      ok: false,
      error: { code: "invalid_message" },
    });
    expect(await query(c, "shared/x")).toMatchObject({ ok: true, result: { count: 0 } });
  });

  it("lists at most maxMembers, with the full count", async () => {
    const s = await server({ presence: { topics: everyTopic, maxMembers: 2 } });
    const cs = await Promise.all(["a", "b", "c"].map((id) => client(s, id)));
    await Promise.all(cs.map((c) => subscribe(c, "room")));
    const answer = await query(cs[0]!, "room");
    expect(answer.result).toMatchObject({ count: 3 });
    expect((answer.result as { members: unknown[] }).members).toHaveLength(2);
  });

  it("refuses bad presence options", async () => {
    await expect(server({ presence: { topics: everyTopic, graceMs: -1 } })).rejects.toThrow(
      "presence.graceMs must be a number >= 0, got -1",
    );
  });
});
