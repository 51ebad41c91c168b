import type { LifelineError, MessageMeta } from "@lifeline/client";
import type { LifelineServer } from "@lifeline/server";
import {
  createDisposer,
  deferred,
  type RedisServer,
  startRedisServer,
  within,
} from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { brokerMatrix, quietClient } from "./broker-matrix.js";

// Start positions (PROTOCOL.md, "Start positions") through @lifeline/client against a real
// server, on the memory broker and on the Redis broker: `rewind` and `since` replay what
// they ask for, then live messages follow, and a reconnect delivers no offset twice.

let redis: RedisServer;
const disposer = createDisposer();

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.dispose());
afterEach(() => disposer.run());

const brokers = brokerMatrix(() => redis.url, disposer, "start");

const client = (server: LifelineServer, clientId: string) =>
  quietClient(disposer, server, clientId);

/** Messages one handler got, and a wait for the one at `offset`. */
function recorder() {
  const got: { data: unknown; meta: MessageMeta }[] = [];
  const waiters = new Map<number, () => void>();
  return {
    got,
    offsets: () => got.map((m) => m.meta.offset),
    handler: (data: unknown, meta: MessageMeta) => {
      got.push({ data, meta });
      waiters.get(meta.offset)?.();
    },
    reached(offset: number): Promise<void> {
      if (got.some((m) => m.meta.offset === offset)) return Promise.resolve();
      const arrived = new Promise<void>((resolve) => waiters.set(offset, resolve));
      return within(arrived, `offset ${offset} (have ${got.map((m) => m.meta.offset)})`);
    },
  };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each(brokers)("start positions on the %s broker", (_name, start) => {
  it("rewind 1 delivers the latest value at once, then live messages", async () => {
    const server = await start(100);
    for (let i = 1; i <= 30; i += 1) await server.publish("status", { battery: i });
    const c = client(server, "dashboard");
    const status = recorder();
    c.subscribe("status", status.handler, { rewind: 1 });
    await status.reached(30);
    expect(status.got.map((m) => m.data)).toEqual([{ battery: 30 }]);
    await server.publish("status", { battery: 31 });
    await status.reached(31);
    expect(status.offsets()).toEqual([30, 31]);
  });

  it("rewind N replays the last N, and a reconnect afterwards delivers nothing twice", async () => {
    const server = await start(100);
    for (let i = 1; i <= 40; i += 1) await server.publish("ticks", i);
    const c = client(server, "ticker");
    const ticks = recorder();
    const gaps: unknown[] = [];
    c.on("gap", (gap) => gaps.push(gap));
    c.subscribe("ticks", ticks.handler, { rewind: 5 });
    await ticks.reached(40);
    const reopened = deferred();
    let opens = 0;
    const undo = c.subscribeState(({ next }) => {
      if (next === "open" && ++opens === 1) reopened.resolve();
    });
    disposer.add(undo);
    c.reconnect();
    for (let i = 41; i <= 45; i += 1) await server.publish("ticks", i);
    await within(reopened.promise, "reopened");
    await ticks.reached(45);
    expect(ticks.offsets()).toEqual(range(36, 45));
    expect(gaps).toEqual([]);
  });

  it("since resumes a new client exactly after a position an earlier one kept", async () => {
    const server = await start(100);
    for (let i = 1; i <= 5; i += 1) await server.publish("log", `line ${i}`);
    const first = client(server, "first-run");
    const seen = recorder();
    first.subscribe("log", seen.handler, { rewind: 5 });
    await seen.reached(5);
    const kept = seen.got[2]?.meta;
    if (!kept) throw new Error(`no third message in ${seen.offsets()}`);
    first.close();
    for (let i = 6; i <= 8; i += 1) await server.publish("log", `line ${i}`);

    const second = client(server, "second-run");
    const resumed = recorder();
    second.subscribe("log", resumed.handler, {
      since: { offset: kept.offset, epoch: kept.epoch },
      rewind: 1,
    });
    await resumed.reached(8);
    expect(resumed.offsets()).toEqual([4, 5, 6, 7, 8]);
    expect(resumed.got[0]?.data).toBe("line 4");
  });

  it("a rewind past the server's limit is refused with a clear error; the client stays open", async () => {
    const server = await start(10);
    await server.publish("a", "kept");
    const c = client(server, "greedy");
    const refused = deferred<LifelineError>();
    c.subscribe("big", () => {}, { rewind: 11, onError: (error) => refused.resolve(error) });
    const error = await within(refused.promise, "refusal");
    expect(error.code).toBe("invalid_message");
    expect(error.message).toContain('"rewind" to be at most 10');
    const other = recorder();
    c.subscribe("a", other.handler, { rewind: 10 });
    await other.reached(1);
    expect(c.status).toBe("open");
  });
});
