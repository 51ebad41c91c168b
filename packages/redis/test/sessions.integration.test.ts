import { AuthError, createServer, type LifelineServer } from "@lifeline/server";
import {
  connect,
  createDisposer,
  type Message,
  ofType,
  type RedisServer,
  startRedisServer,
  type TestClient,
  within,
} from "@lifeline/test-support";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRedisBroker } from "../src/index.js";
import { startNodeProcess } from "./cluster.js";

// Direct messages and session control across nodes on one Redis (PROTOCOL.md, "Direct
// messages", "Session control"): sendTo and disconnect on one node reach connections on
// another, sessions() lists every node's, and a node that dies stops counting.

let redis: RedisServer;
const disposer = createDisposer();

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.dispose());
afterEach(() => disposer.run());

let run = 0;

/** Two nodes sharing one key prefix; the token names the user. */
async function cluster(): Promise<[LifelineServer, LifelineServer]> {
  run += 1;
  const start = async () => {
    const broker = createRedisBroker({ url: redis.url, keyPrefix: `sessions${run}:` });
    await within(broker.ready(), "broker ready");
    const server = await createServer({
      port: 0,
      logger: false,
      broker,
      authenticate: (_request, handshake) => {
        if (!handshake.token) throw new AuthError("no user");
        return handshake.token;
      },
    });
    disposer.add(() => broker.close());
    disposer.add(() => server.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 }));
    return server;
  };
  return [await start(), await start()];
}

async function userClient(node: { readonly port: number }, clientId: string, user: string) {
  const client = await connect(node, clientId, `&token=${user}`);
  disposer.add(() => client.close());
  return client;
}

async function inbox(client: TestClient, id: string, since?: Message): Promise<Message> {
  client.send({ type: "subscribe", id, topic: "@inbox", ...(since ? { since } : {}) });
  return client.next(
    ofType("subscribed", (m) => m.id === id),
    `subscribed ${id}`,
  );
}

describe("sessions across nodes on Redis", () => {
  it("delivers sendTo from one node to a client on the other", async () => {
    const [a, b] = await cluster();
    const c = await userClient(b, "tab-1", "ada");
    await inbox(c, "s1");
    expect(await a.sendTo({ clientId: "tab-1" }, { text: "from a" })).toBe(1);
    expect(await c.next(ofType("message"))).toMatchObject({
      topic: "@inbox",
      offset: 1,
      data: { text: "from a" },
    });
  });

  it("delivers sendTo({ user }) to the user's clients on both nodes only", async () => {
    const [a, b] = await cluster();
    const onA = await userClient(a, "ada-a", "ada");
    const onB = await userClient(b, "ada-b", "ada");
    const bob = await userClient(b, "bob-b", "bob");
    await Promise.all([inbox(onA, "1"), inbox(onB, "2"), inbox(bob, "3")]);
    expect(await b.sendTo({ user: "ada" }, "hello ada")).toBe(2);
    expect((await onA.next(ofType("message"))).data).toBe("hello ada");
    expect((await onB.next(ofType("message"))).data).toBe("hello ada");
    bob.send({ type: "ping" });
    await bob.next(ofType("pong"));
    expect(bob.received.filter((m) => m.type === "message")).toEqual([]);
  });

  it("keeps a direct message sent while the client moves between nodes", async () => {
    const [a, b] = await cluster();
    const first = await userClient(a, "mover", "ada");
    const live = await inbox(first, "s1");
    await a.sendTo({ user: "ada" }, 1);
    const seen = await first.next(ofType("message"));
    await first.close();
    // Between nodes: the user's inbox still counts it, from either node.
    expect(await b.sendTo({ user: "ada" }, 2)).toBe(1);
    expect(await a.sendTo({ clientId: "mover" }, 3)).toBe(1);
    const back = await userClient(b, "mover", "ada");
    const resumed = await inbox(back, "s2", { offset: seen.offset, epoch: live.epoch });
    expect(resumed).toMatchObject({ recovered: true, replayed: 2 });
    expect(back.received.filter((m) => m.type === "message").map((m) => m.data)).toEqual([2, 3]);
  });

  it("disconnects a user's connections on every node, with 4403", async () => {
    const [a, b] = await cluster();
    const onA = await userClient(a, "ada-a", "ada");
    const onB = await userClient(b, "ada-b", "ada");
    const bob = await userClient(b, "bob-b", "bob");
    await a.disconnect({ user: "ada" }, { reason: "revoked" });
    expect(await within(onB.closed, "ada on b closed")).toEqual({ code: 4403, reason: "revoked" });
    expect((await within(onA.closed, "ada on a closed")).code).toBe(4403);
    bob.send({ type: "ping" });
    await bob.next(ofType("pong"));
    await b.disconnect({ clientId: "bob-b" }, { code: 1013, reason: "move" });
    expect((await within(bob.closed, "bob closed")).code).toBe(1013);
  });

  it("ignores garbage on the control channel and keeps serving", async () => {
    const [a, b] = await cluster();
    const c = await userClient(b, "tab-g", "ada");
    const intruder = new Redis(redis.url);
    disposer.add(() => intruder.quit());
    for (const payload of [
      "not json",
      "{}",
      '{"type":"disconnect","target":{},"code":4403}',
      "x".repeat(10_000),
    ]) {
      await intruder.publish(`sessions${run}:control`, payload);
    }
    await a.disconnect({ clientId: "nobody" });
    c.send({ type: "ping" });
    await c.next(ofType("pong"));
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });

  it("lists a user's live sessions on every node", async () => {
    const [a, b] = await cluster();
    const onA = await userClient(a, "ada-a", "ada");
    await userClient(b, "ada-b", "ada");
    await userClient(b, "bob-b", "bob");
    const listed = await b.sessions({ user: "ada" });
    expect(listed.map((s) => s.clientId).sort()).toEqual(["ada-a", "ada-b"]);
    expect(new Set(listed.map((s) => s.node)).size).toBe(2);
    await onA.close();
    await expect
      .poll(async () => (await b.sessions({ user: "ada" })).map((s) => s.clientId))
      .toEqual(["ada-b"]);
  });

  it("stops listing the sessions of a SIGKILLed node within its ttl, and nobody else's", async () => {
    const [a] = await cluster();
    const node = await startNodeProcess("doomed", {
      REDIS_URL: redis.url,
      KEY_PREFIX: `sessions${run}:`,
      SESSION_TTL_MS: "1500",
    });
    disposer.add(() => node.stop());
    const port = Number(new URL(node.url).port);
    const doomed = await connect({ port }, "on-doomed", "&token=ada");
    disposer.add(() => doomed.close());
    await userClient(a, "on-a", "ada");
    expect((await a.sessions({ user: "ada" })).length).toBe(2);
    await node.stop("SIGKILL");
    await expect
      .poll(async () => (await a.sessions({ user: "ada" })).map((s) => s.clientId), {
        timeout: 5000,
        interval: 100,
      })
      .toEqual(["on-a"]);
  });
});
