import {
  createClient,
  type LifelineClient,
  type PresenceEvent,
  type PresenceMember,
} from "@lifeline/client";
import { AuthError, type LifelineServer } from "@lifeline/server";
import { createDisposer, type RedisServer, startRedisServer, within } from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { brokerMatrix, quietClient } from "./broker-matrix.js";

// Presence through @lifeline/client against real servers (PROTOCOL.md, "Presence"), on the
// memory broker and on the Redis broker: client.presence() lists the members, a
// subscription with presence: true keeps them as they join and leave, and a reconnect
// within the grace period is neither a leave nor a join for anybody.

let redis: RedisServer;
const disposer = createDisposer();

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.dispose());
afterEach(() => disposer.run());

const brokers = brokerMatrix(() => redis.url, disposer, "presence-client");
const fast = { topics: () => true, graceMs: 1500, diffIntervalMs: 20 };

/** Every presence event one subscription got, and a wait for its members. */
function observer() {
  const events: PresenceEvent[] = [];
  const waiters = new Set<() => void>();
  const ids = () => (events.at(-1)?.members ?? []).map((m: PresenceMember) => m.clientId).sort();
  return {
    events,
    ids,
    onPresence(event: PresenceEvent) {
      events.push(event);
      for (const wake of [...waiters]) wake();
    },
    until(expected: string[], label = `members ${expected}`) {
      const want = [...expected].sort().join();
      if (ids().join() === want) return Promise.resolve();
      return within(
        new Promise<void>((resolve) => {
          const wake = () => {
            if (ids().join() !== want) return;
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
        }),
        `${label} (have ${ids()})`,
      );
    },
  };
}

const watch = (c: LifelineClient, topic: string) => {
  const seen = observer();
  c.subscribe(topic, () => {}, { presence: true, onPresence: seen.onPresence });
  return seen;
};

describe.each(brokers)("presence through the client on the %s broker", (_name, start) => {
  it("each subscriber sees the other join and leave; presence() lists them", async () => {
    const server = await start(10, { presence: fast });
    const a = quietClient(disposer, server, "alice");
    const b = quietClient(disposer, server, "bob");
    const seenByA = watch(a, "room");
    await seenByA.until(["alice"]);
    const seenByB = observer();
    const stopB = b.subscribe("room", () => {}, {
      presence: true,
      onPresence: seenByB.onPresence,
    });
    await seenByA.until(["alice", "bob"]);
    await seenByB.until(["alice", "bob"]);
    expect(
      b
        .members("room")
        ?.map((m) => m.clientId)
        .sort(),
    ).toEqual(["alice", "bob"]);
    const listed = await a.presence("room");
    expect(listed.count).toBe(2);
    expect(listed.members.map((m) => m.clientId).sort()).toEqual(["alice", "bob"]);
    stopB();
    await seenByA.until(["alice"]);
    expect(seenByA.events.at(-1)?.leaves.map((m) => m.clientId)).toEqual(["bob"]);
  });

  it("a reconnect within the grace period is neither a leave nor a join", async () => {
    const server = await start(10, { presence: fast });
    const a = quietClient(disposer, server, "steady");
    const b = quietClient(disposer, server, "flaky");
    const seenByA = watch(a, "room");
    const seenByB = watch(b, "room");
    await seenByA.until(["flaky", "steady"]);
    await seenByB.until(["flaky", "steady"]);
    const before = { a: seenByA.events.length, b: seenByB.events.length };
    const reopened = new Promise<void>((resolve) => {
      let closedOnce = false;
      const stop = b.subscribeState((change) => {
        if (change.next !== "open") closedOnce = true;
        else if (closedOnce) {
          stop();
          resolve();
        }
      });
    });
    b.reconnect();
    await within(reopened, "flaky reconnects");
    // A marker member joins after the reconnect: once both see it, every diff the
    // reconnect could have caused has arrived.
    const marker = quietClient(disposer, server, "marker");
    marker.subscribe("room", () => {});
    await seenByA.until(["flaky", "marker", "steady"]);
    await seenByB.until(["flaky", "marker", "steady"]);
    const changes = (events: PresenceEvent[]) =>
      events.flatMap((e) => [
        ...e.joins.map((m) => `+${m.clientId}`),
        ...e.leaves.map((m) => `-${m.clientId}`),
      ]);
    expect(changes(seenByA.events.slice(before.a))).toEqual(["+marker"]);
    expect(changes(seenByB.events.slice(before.b))).toEqual(["+marker"]);
  });

  it("members carry the user authentication gave, never the token", async () => {
    const token = "tok-presence-SECRET-91c";
    const server: LifelineServer = await start(10, {
      presence: fast,
      authenticate: (_request, handshake) => {
        if (handshake.token !== token) throw new AuthError("bad token");
        return { id: `user:${handshake.clientId}`, token: handshake.token };
      },
    });
    const c = createClient({
      url: `ws://127.0.0.1:${server.port}/ws`,
      clientId: "dora",
      token,
      lifecycle: false,
      logLevel: "silent",
    });
    disposer.add(() => c.close());
    const seen = watch(c, "room");
    await seen.until(["dora"]);
    expect(seen.events.at(-1)?.members).toEqual([
      { clientId: "dora", user: "user:dora", joinedAt: expect.any(Number) },
    ]);
    const listed = await c.presence("room");
    expect(JSON.stringify(listed)).not.toContain(token);
    expect(listed.members[0]?.user).toBe("user:dora");
  });

  it("presence() of a topic the client may not subscribe to is refused", async () => {
    const server = await start(10, {
      presence: fast,
      authorize: (_principal, topic) => topic !== "secret",
    });
    const c = quietClient(disposer, server, "nosy");
    await expect(c.presence("secret")).rejects.toMatchObject({ code: "forbidden" });
    await expect(c.presence("open")).resolves.toMatchObject({ count: 0 });
  });
});
