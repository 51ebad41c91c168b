import { defineContract } from "@lifeline/protocol";
import { Type } from "@sinclair/typebox";
import { afterEach, describe, expect, it } from "vitest";
import { AuthError, type ServerOptions } from "../src/index.js";
import {
  connect,
  connectClosedAfterEach,
  createDisposer,
  createFakeClock,
  ofType,
  serverClosedAfterEach,
  within,
} from "./helpers.js";

// PROTOCOL.md, "Direct messages": server.sendTo lands in the client's inbox, read as the
// topic @inbox with a topic's offsets, resume and deduplication; nobody names another's.

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);

/** The token is the user name; "nobody" is refused. */
const byToken: Pick<ServerOptions<string>, "authenticate"> = {
  authenticate: (_request, handshake) => {
    if (!handshake.token || handshake.token === "nobody") throw new AuthError("no user");
    return handshake.token;
  },
};

async function userClient(s: { readonly port: number }, clientId: string, user: string) {
  const client = await connect(s, clientId, `&token=${user}`);
  disposer.add(() => client.close());
  return client;
}

async function subscribeInbox(
  client: Awaited<ReturnType<typeof userClient>>,
  id: string,
  since?: { offset: number; epoch: string },
) {
  client.send({ type: "subscribe", id, topic: "@inbox", ...(since ? { since } : {}) });
  return client.next(
    ofType("subscribed", (m) => m.id === id),
    `subscribed ${id}`,
  );
}

describe("direct messages", () => {
  it("announces the inbox feature", async () => {
    const s = await server();
    const c = await connectClosedAfterEach(disposer, s, "features");
    expect(c.hello.features).toContain("inbox");
  });

  it("delivers sendTo({ clientId }) on the client's @inbox with offsets", async () => {
    const s = await server(byToken);
    const c = await userClient(s, "tab-1", "ada");
    expect(await subscribeInbox(c, "s1")).toMatchObject({ topic: "@inbox", offset: 0 });
    expect(await s.sendTo({ clientId: "tab-1" }, { text: "hi" })).toBe(1);
    expect(await c.next(ofType("message"))).toMatchObject({
      topic: "@inbox",
      offset: 1,
      data: { text: "hi" },
    });
  });

  it("delivers sendTo({ user }) to every client of that user and to nobody else", async () => {
    const s = await server(byToken);
    const one = await userClient(s, "ada-1", "ada");
    const two = await userClient(s, "ada-2", "ada");
    const other = await userClient(s, "bob-1", "bob");
    for (const [c, id] of [
      [one, "a"],
      [two, "b"],
      [other, "c"],
    ] as const) {
      await subscribeInbox(c, id);
    }
    expect(await s.sendTo({ user: "ada" }, "for ada")).toBe(2);
    expect((await one.next(ofType("message"))).data).toBe("for ada");
    expect((await two.next(ofType("message"))).data).toBe("for ada");
    other.send({ type: "ping" });
    await other.next(ofType("pong"));
    expect(other.received.filter((m) => m.type === "message")).toEqual([]);
  });

  it("keeps a message sent while the client is away, and replays it on resume", async () => {
    const s = await server(byToken);
    const first = await userClient(s, "tab-r", "ada");
    const subscribed = await subscribeInbox(first, "s1");
    await s.sendTo({ clientId: "tab-r" }, 1);
    const seen = await first.next(ofType("message"));
    await first.close();
    // Away: both the client and the user still count as recipients during the linger.
    expect(await s.sendTo({ clientId: "tab-r" }, 2)).toBe(1);
    expect(await s.sendTo({ user: "ada" }, 3)).toBe(1);
    const back = await userClient(s, "tab-r", "ada");
    const resumed = await subscribeInbox(back, "s2", {
      offset: seen.offset as number,
      epoch: subscribed.epoch as string,
    });
    expect(resumed).toMatchObject({ recovered: true, replayed: 2 });
    const replayed = back.received.filter((m) => m.type === "message");
    expect(replayed.map((m) => [m.offset, m.data, m.topic])).toEqual([
      [2, 2, "@inbox"],
      [3, 3, "@inbox"],
    ]);
  });

  it("stops counting a closed client as a recipient after the linger", async () => {
    const clock = createFakeClock(Date.now());
    const s = await server({ ...byToken, clock, sessions: { lingerMs: 1000 } });
    const c = await userClient(s, "tab-l", "ada");
    await c.close();
    await expect.poll(() => s.sessions({ user: "ada" })).toEqual([]);
    expect(await s.sendTo({ clientId: "tab-l" }, "soon")).toBe(1);
    clock.advance(1001);
    expect(await s.sendTo({ clientId: "tab-l" }, "late")).toBe(0);
    expect(await s.sendTo({ user: "ada" }, "late")).toBe(0);
  });

  it("gives another user who takes the same client_id an empty inbox", async () => {
    const s = await server(byToken);
    const ada = await userClient(s, "shared", "ada");
    await subscribeInbox(ada, "s1");
    await s.sendTo({ clientId: "shared" }, "secret for ada");
    await ada.next(ofType("message"));
    // Bob takes the client_id once ada's connection is gone from the server (while it is
    // there, another principal's takeover is refused 4403): a WebSocket close is a
    // handshake the server completes, an SSE client's close only drops its stream.
    const gone = new Promise((resolve) => s.on("disconnect", resolve));
    await ada.close();
    await within(gone, "ada's connection closed on the server");
    const bob = await userClient(s, "shared", "bob");
    bob.send({ type: "subscribe", id: "s2", topic: "@inbox", rewind: 10 });
    expect(await bob.next(ofType("subscribed"))).toMatchObject({ replayed: 0, offset: 0 });
    bob.send({ type: "history", id: "h", topic: "@inbox", limit: 10, direction: "backward" });
    expect((await bob.next(ofType("response"))).result).toMatchObject({
      topic: "@inbox",
      messages: [],
    });
    // The client_id is bob's now: a message to it is bob's.
    await s.sendTo({ clientId: "shared" }, "for bob");
    expect((await bob.next(ofType("message"))).data).toBe("for bob");
  });

  it("refuses every name under @inbox/ and publishes to @inbox, whatever authorize says", async () => {
    const s = await server({ ...byToken, authorize: () => true });
    const c = await userClient(s, "prober", "eve");
    const refused = (id: string) =>
      c.next(ofType("response", (m) => m.id === id)).then((m) => m.error);
    c.send({ type: "subscribe", id: "a", topic: "@inbox/x/ada-1" });
    expect(await refused("a")).toMatchObject({ code: "forbidden" });
    c.send({ type: "history", id: "b", topic: "@inbox/x", limit: 1, direction: "forward" });
    expect(await refused("b")).toMatchObject({ code: "forbidden" });
    c.send({ type: "publish", id: "c", topic: "@inbox", data: 1 });
    expect(await refused("c")).toMatchObject({ code: "forbidden" });
    c.send({ type: "publish", id: "d", topic: "@inbox/x/ada-1", data: 1 });
    expect(await refused("d")).toMatchObject({ code: "forbidden" });
    c.send({ type: "ping" });
    await c.next(ofType("pong"));
  });

  it("reads the inbox's history as @inbox and lists it as @inbox in the status", async () => {
    const s = await server({ ...byToken, status: { enabled: true } });
    const c = await userClient(s, "tab-h", "ada");
    await subscribeInbox(c, "s1");
    await s.sendTo({ clientId: "tab-h" }, "one");
    await c.next(ofType("message"));
    c.send({ type: "history", id: "h", topic: "@inbox", limit: 5, direction: "backward" });
    const page = (await c.next(ofType("response"))).result as Record<string, unknown>;
    expect(page).toMatchObject({ topic: "@inbox", head: 1, messages: [{ data: "one" }] });
    const status = (await (
      await fetch(`http://127.0.0.1:${s.port}/api/websocket/status`)
    ).json()) as { connections: { subscriptions: string[] }[] };
    expect(status.connections[0]?.subscriptions).toEqual(["@inbox"]);
    // Inboxes are not topics producers watch.
    expect(s.stats().topics.active).toBe(1);
  });

  it("is idempotent by id and checks data against the contract's direct schema", async () => {
    const contract = defineContract({
      topics: {},
      direct: Type.Object({ text: Type.String() }, { additionalProperties: false }),
    });
    const s = await server({ ...byToken, contract });
    const c = await userClient(s, "tab-c", "ada");
    await subscribeInbox(c, "s1");
    await expect(s.sendTo({ clientId: "tab-c" }, { text: 5 })).rejects.toMatchObject({
      code: "LIFELINE_INVALID_DATA",
    });
    await s.sendTo({ clientId: "tab-c" }, { text: "once" }, { id: "d-1" });
    await s.sendTo({ clientId: "tab-c" }, { text: "once" }, { id: "d-1" });
    await s.sendTo({ clientId: "tab-c" }, { text: "twice" });
    await c.next(ofType("message", (m) => (m.data as { text: string }).text === "twice"));
    expect(c.received.filter((m) => m.type === "message").map((m) => m.offset)).toEqual([1, 2]);
  });

  it("answers 0 for a client nobody knows and refuses a malformed target", async () => {
    const s = await server();
    expect(await s.sendTo({ clientId: "ghost" }, 1)).toBe(0);
    await expect(s.sendTo({} as { clientId: string }, 1)).rejects.toMatchObject({
      code: "LIFELINE_INVALID_OPTIONS",
    });
    await expect(
      s.sendTo({ clientId: "a", user: "b" } as unknown as { clientId: string }, 1),
    ).rejects.toMatchObject({ code: "LIFELINE_INVALID_OPTIONS" });
  });
});
