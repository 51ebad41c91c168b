import { createServer, type LifelineServer } from "@lifeline/server";
import {
  connect,
  createDisposer,
  type Message,
  ofType,
  packCodec,
  plainBytes,
  type RedisServer,
  startRedisServer,
  type TestClient,
  within,
} from "@lifeline/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRedisBroker } from "../src/index.js";

// Bytes in data across nodes (README, "How it works", bytes; PROTOCOL.md "MessagePack
// wire"): published on node A, they reach node B's MessagePack subscribers as bytes and its
// JSON subscribers as base64, live and when read back from the stream.

let redis: RedisServer;
const disposer = createDisposer();
let run = 0;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.dispose());
afterEach(() => disposer.run());

/** Two nodes sharing one Redis (one key prefix per test). */
async function twoNodes(): Promise<[LifelineServer, LifelineServer]> {
  run += 1;
  const node = async () => {
    const broker = createRedisBroker({ url: redis.url, keyPrefix: `bytes${run}:` });
    await within(broker.ready(), "redis broker ready");
    const server = await createServer({ port: 0, logger: false, broker, authorize: () => true });
    disposer.add(() => broker.close());
    disposer.add(() => server.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 }));
    return server;
  };
  return [await node(), await node()];
}

async function client(server: LifelineServer, id: string, wire: "json" | "msgpack") {
  const c = await connect(server, id, "", {}, wire === "msgpack" ? packCodec() : undefined);
  disposer.add(() => c.close());
  return c;
}

async function subscribe(c: TestClient, topic: string, extra: Message = {}): Promise<void> {
  c.send({ type: "subscribe", id: `s-${topic}`, topic, ...extra });
  await c.next(ofType("subscribed"), `subscribed to ${topic}`);
}

const bytes = new Uint8Array([0, 1, 10, 13, 254, 255]);
const base64 = Buffer.from(bytes).toString("base64");

describe("bytes in data on the Redis broker", () => {
  it("published on node A, arrive at node B as bytes over MessagePack and as base64 over JSON", async () => {
    const [a, b] = await twoNodes();
    const packed = await client(b, "b-pack", "msgpack");
    const json = await client(b, "b-json", "json");
    await subscribe(packed, "scope");
    await subscribe(json, "scope");
    const publisher = await client(a, "a-pub", "msgpack");
    publisher.send({
      type: "publish",
      id: "p1",
      topic: "scope",
      data: { frame: bytes, exposure: 1.5, nested: [{ raw: bytes }] },
    });
    expect(await publisher.next(ofType("response"))).toMatchObject({ id: "p1", ok: true });

    const live = await packed.next(ofType("message"), "MessagePack delivery");
    const data = live.data as { frame: unknown; exposure: number; nested: { raw: unknown }[] };
    expect(plainBytes(data.frame)).toEqual(bytes);
    expect(plainBytes(data.nested[0]?.raw)).toEqual(bytes);
    expect(data.exposure).toBe(1.5);
    expect(await json.next(ofType("message"), "JSON delivery")).toMatchObject({
      topic: "scope",
      offset: 1,
      data: { frame: base64, exposure: 1.5, nested: [{ raw: base64 }] },
    });
  });

  it("read back from the stream on the other node (rewind), bytes stay bytes", async () => {
    const [a, b] = await twoNodes();
    await a.publish("log", { n: 1 });
    await a.publish("log", { raw: Buffer.from(bytes) });
    await a.publish("log", "text");
    const packed = await client(b, "late-pack", "msgpack");
    const json = await client(b, "late-json", "json");
    await subscribe(packed, "log", { rewind: 3 });
    await subscribe(json, "log", { rewind: 3 });
    const replayed = packed.received.filter(ofType("message"));
    expect(replayed.map((m) => m.offset)).toEqual([1, 2, 3]);
    expect(replayed[0]?.data).toEqual({ n: 1 });
    expect(plainBytes((replayed[1]?.data as { raw?: unknown } | undefined)?.raw)).toEqual(bytes);
    expect(replayed[2]?.data).toEqual("text");
    expect(json.received.filter(ofType("message")).map((m) => m.data)).toEqual([
      { n: 1 },
      { raw: base64 },
      "text",
    ]);
  });
});
