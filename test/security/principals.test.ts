import { createClient, type LifelineClient, type StateChange } from "@lifeline/client";
import { AuthError } from "@lifeline/server";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type RawConnection, rawConnect } from "./support/raw-socket.js";
import { startServer, type TestServer } from "./support/server.js";

// docs/reliability.md: "a resume attempt with another user's client_id or offsets (authentication runs
// again on every reconnect; nothing crosses principals)".

interface User {
  readonly id: string;
}

const tokens = new Map<string, User>([
  ["tok-alice", { id: "alice" }],
  ["tok-bob", { id: "bob" }],
]);

const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function setup(): Promise<{ t: TestServer<User>; authCalls: string[] }> {
  const authCalls: string[] = [];
  const t = await startServer<User>({
    authenticate: (_request, handshake) => {
      authCalls.push(handshake.clientId);
      const user = handshake.token === undefined ? undefined : tokens.get(handshake.token);
      if (!user) throw new AuthError("unknown or revoked token");
      return user;
    },
    // `private/<user>/...` belongs to that user alone.
    authorize: (user, topic) =>
      !topic.startsWith("private/") || topic.startsWith(`private/${user.id}/`),
  });
  disposers.push(() => t.close());
  return { t, authCalls };
}

async function as(t: TestServer<User>, token: string, clientId: string): Promise<RawConnection> {
  const c = await rawConnect({
    port: t.port,
    path: `/ws?client_id=${clientId}&version=1&role=frontend&token=${token}`,
  });
  disposers.push(() => c.destroy());
  return c;
}

function nextState(client: LifelineClient, predicate: (c: StateChange) => boolean) {
  return new Promise<StateChange>((resolve) => {
    const stop = client.subscribeState((change) => {
      if (predicate(change)) {
        stop();
        resolve(change);
      }
    });
  });
}

describe("nothing crosses principals", () => {
  it("refuses another principal's live client_id with 4403 and leaves the owner connected", async () => {
    const { t } = await setup();
    const alice = await as(t, "tok-alice", "alice-tab");
    await alice.next((m) => m.type === "hello");
    const bob = await as(t, "tok-bob", "alice-tab");
    expect((await bob.closed).code).toBe(4403);
    alice.send(JSON.stringify({ type: "ping" }));
    await alice.next((m) => m.type === "pong");
    expect(t.server.connections().map((c) => c.clientId)).toEqual(["alice-tab"]);
  });

  it("refuses a resume of another user's topic with that user's offsets, even on her client_id", async () => {
    const { t } = await setup();
    const alice = await as(t, "tok-alice", "alice-tab");
    await alice.next((m) => m.type === "hello");
    alice.send(JSON.stringify({ type: "subscribe", id: "s1", topic: "private/alice/inbox" }));
    const subscribed = await alice.next((m) => m.type === "subscribed");
    for (let i = 0; i < 3; i += 1) await t.server.publish("private/alice/inbox", { secret: i });
    await alice.next((m) => m.type === "message" && (m.data as { secret: number }).secret === 2);
    alice.destroy();
    await new Promise<void>((resolve) => t.server.on("disconnect", () => resolve()));

    // Bob takes her client_id once she is gone and resumes from before her messages.
    const bob = await as(t, "tok-bob", "alice-tab");
    await bob.next((m) => m.type === "hello");
    bob.send(
      JSON.stringify({
        type: "subscribe",
        id: "s1",
        topic: "private/alice/inbox",
        since: { offset: 0, epoch: subscribed.epoch },
      }),
    );
    const answer = await bob.next((m) => m.id === "s1");
    expect(answer).toMatchObject({ type: "response", ok: false, error: { code: "forbidden" } });
    bob.send(
      JSON.stringify({ type: "publish", id: "p1", topic: "private/alice/inbox", data: "spoof" }),
    );
    expect(await bob.next((m) => m.id === "p1")).toMatchObject({
      ok: false,
      error: { code: "forbidden" },
    });
    expect(bob.messages.some((m) => (m as { type: string }).type === "message")).toBe(false);
  });

  // Found by this suite; fixed in the server (dedupe keyed by identity, client_id and id).
  it("does not answer one principal's publish with another's earlier ack on a reused client_id", async () => {
    const { t } = await setup();
    const alice = await as(t, "tok-alice", "shared-id");
    await alice.next((m) => m.type === "hello");
    alice.send(
      JSON.stringify({ type: "publish", id: "p1", topic: "public/chat", data: "from alice" }),
    );
    const aliceAck = await alice.next((m) => m.id === "p1");
    expect(aliceAck).toMatchObject({ ok: true });
    alice.destroy();
    await new Promise<void>((resolve) => t.server.on("disconnect", () => resolve()));

    const bob = await as(t, "tok-bob", "shared-id");
    await bob.next((m) => m.type === "hello");
    bob.send(JSON.stringify({ type: "publish", id: "p1", topic: "public/chat", data: "from bob" }));
    const bobAck = await bob.next((m) => m.id === "p1");
    expect(bobAck).toMatchObject({ ok: true });
    // Bob's message must be appended, not swallowed as a retry of Alice's.
    expect((bobAck.result as { offset: number }).offset).not.toBe(
      (aliceAck.result as { offset: number }).offset,
    );
  });

  it("authenticates again on every reconnect and stops for good once the token is revoked", async () => {
    const { t, authCalls } = await setup();
    tokens.set("tok-carol", { id: "carol" });
    disposers.push(() => {
      tokens.delete("tok-carol");
    });
    const client = createClient({
      url: t.url,
      clientId: "carol-tab",
      token: "tok-carol",
      lifecycle: false,
      logLevel: "silent",
      WebSocket: WebSocket as never,
    });
    disposers.push(() => client.close());
    await nextState(client, (c) => c.next === "open");
    for (let i = 0; i < 3; i += 1) {
      const reopened = nextState(client, (c) => c.next === "open");
      client.reconnect();
      await reopened;
    }
    expect(authCalls.filter((id) => id === "carol-tab")).toHaveLength(4);

    tokens.delete("tok-carol");
    const failed = nextState(client, (c) => c.next === "failed");
    client.reconnect();
    const change = await failed;
    expect(change.cause.code).toBe(4401);
    expect(authCalls.filter((id) => id === "carol-tab")).toHaveLength(5);
  });
});
