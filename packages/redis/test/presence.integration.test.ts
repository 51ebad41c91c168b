import { type RedisServer, startRedisServer } from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRedisBroker, type RedisBroker } from "../src/index.js";
import { startFixture } from "./cluster-process.js";
import { within } from "./helpers.js";
import { entry, ids, presenceOf, watcher as watchOn } from "./presence-watcher.js";

// Presence on Redis (PROTOCOL.md, "Presence"): shared by every node, a member counted once
// however many nodes hold it, the members of a node killed with SIGKILL gone within the
// node bound (and nobody else's), and what a node holds held again after Redis lost it.

let redis: RedisServer;
const disposers: (() => Promise<void>)[] = [];
let run = 0;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.dispose());
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

const watcher = (b: RedisBroker, topic: string) => watchOn(b, topic, disposers);

async function broker(prefix: string, nodeTimeoutMs = 30_000): Promise<RedisBroker> {
  const b = createRedisBroker({ url: redis.url, keyPrefix: prefix, presence: { nodeTimeoutMs } });
  disposers.push(() => b.close());
  await within(b.ready(), "broker ready", 5000);
  return b;
}

function prefix(): string {
  run += 1;
  return `presence${run}:`;
}
describe("presence on the Redis broker", () => {
  it("is shared by the nodes: a member joins once and leaves when its last node lets go", async () => {
    const p = prefix();
    const [a, b] = await Promise.all([broker(p), broker(p)]);
    const seen = await watcher(b, "room");
    await presenceOf(a).hold("room", entry("alice"));
    await seen.until(() => seen.ids().includes("alice"), "alice joins");
    // The same client on a second node (a reconnect that landed elsewhere): no change.
    await presenceOf(b).hold("room", entry("alice"));
    await presenceOf(a).release("room", "alice");
    await presenceOf(b).hold("room", entry("bob"));
    await seen.until(() => seen.ids().includes("bob"), "bob joins");
    expect(ids(await presenceOf(a).members("room"))).toEqual(["alice", "bob"]);
    await presenceOf(b).release("room", "alice");
    await seen.until(() => !seen.ids().includes("alice"), "alice leaves");
    const aliceChanges = seen.changes.flatMap((c) => [
      ...c.joins.filter((e) => e.clientId === "alice").map(() => "join"),
      ...c.leaves.filter((e) => e.clientId === "alice").map(() => "leave"),
    ]);
    expect(aliceChanges).toEqual(["join", "leave"]);
    expect(ids(await presenceOf(b).members("room"))).toEqual(["bob"]);
  });

  it("a watch's snapshot and the changes after it add up to the members, under churn", async () => {
    const p = prefix();
    const [a, b] = await Promise.all([broker(p), broker(p)]);
    const churn = Array.from({ length: 200 }, (_, i) =>
      i % 3 === 2
        ? presenceOf(a).release("busy", `c${i - 1}`)
        : presenceOf(a).hold("busy", entry(`c${i}`)),
    );
    const seen = await watcher(b, "busy");
    await Promise.all(churn);
    const expected = ids(await presenceOf(a).members("busy"));
    await seen.until(() => seen.ids().join() === expected.join(), "the watch agrees");
  });

  it("reaps the members of a node killed with SIGKILL within the node bound, and only those", async () => {
    const p = prefix();
    const nodeTimeoutMs = 3000;
    const survivor = await broker(p, nodeTimeoutMs);
    await presenceOf(survivor).hold("room", entry("stays"));
    const doomed = await startFixture(
      "presence-holder",
      {
        REDIS_URL: redis.url,
        KEY_PREFIX: p,
        TOPIC: "room",
        CLIENTS: "50",
        ID_PREFIX: "doomed",
        NODE_TIMEOUT_MS: String(nodeTimeoutMs),
      },
      /READY/,
    );
    disposers.push(() => doomed.kill());
    const seen = await watcher(survivor, "room");
    expect(seen.ids()).toHaveLength(51);
    await doomed.kill("SIGKILL");
    const killedAt = Date.now();
    await seen.until(() => seen.ids().length === 1, "the doomed members leave", 2 * nodeTimeoutMs);
    expect(Date.now() - killedAt).toBeLessThanOrEqual(nodeTimeoutMs);
    expect(seen.ids()).toEqual(["stays"]);
    // One batched diff for the dead node's 50 members, not 50.
    const leaveDiffs = seen.changes.filter((c) => c.leaves.length > 0);
    expect(leaveDiffs).toHaveLength(1);
    expect(ids(await presenceOf(survivor).members("room"))).toEqual(["stays"]);
  });

  it("holds its members again after Redis lost them (a restart without persistence)", async () => {
    const own = await startRedisServer();
    disposers.push(() => own.dispose());
    const p = prefix();
    const make = async () => {
      const b = createRedisBroker({
        url: own.url,
        keyPrefix: p,
        presence: { nodeTimeoutMs: 1500 },
      });
      disposers.push(() => b.close());
      await within(b.ready(), "broker ready", 5000);
      return b;
    };
    const [a, b] = await Promise.all([make(), make()]);
    await presenceOf(a).hold("room", entry("alice"));
    const seen = await watcher(b, "room");
    await seen.until(() => seen.ids().includes("alice"), "alice joins");
    await own.stop();
    await own.start();
    await within(
      (async () => {
        for (let i = 0; i < 200; i += 1) {
          const now = await presenceOf(b)
            .members("room")
            .catch(() => []);
          if (ids(now).includes("alice")) return;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error("alice never held again");
      })(),
      "alice held again",
      15_000,
    );
    await seen.until(() => seen.ids().join() === "alice", "the watch has alice");
  });
});
