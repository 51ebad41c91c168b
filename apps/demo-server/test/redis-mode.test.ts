import { createClient, type LifelineClient, type WebSocketConstructor } from "@lifeline/client";
import { type RedisServer, startRedisServer } from "@lifeline/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type DemoServer, startDemoServer } from "../src/app.js";
import { parseConfig } from "../src/config.js";
import { TICKS_TOPIC } from "../src/contract.js";

/** REDIS_URL: two nodes share Redis and exactly one of them (the lease holder) produces. */
describe("demo server on Redis", () => {
  let redis: RedisServer;
  const nodes: DemoServer[] = [];
  const clients: LifelineClient[] = [];

  const startNode = (name: string) =>
    startDemoServer({
      config: parseConfig({ PORT: "0", LOG_LEVEL: "silent", REDIS_URL: redis.url, NODE_ID: name }),
    });

  /** A client of `node`, closed after the file. */
  const connect = (node: DemoServer): LifelineClient => {
    const client = createClient({
      url: `ws://127.0.0.1:${node.port}/ws`,
      role: "test",
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      logLevel: "error",
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    nodes.push(await startNode("a"), await startNode("b"));
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((node) => node.close()));
    await redis?.dispose();
  });

  it("names the node and the Redis master in node.info and /demo-config.json", async () => {
    const node = nodes[0] as DemoServer;
    const client = connect(node);
    // Acknowledged once the broker is up (the client retries a publish refused before).
    await client.publish("demo/notes", { text: "hello" });
    const redisInfo = { mode: "single", masters: [`127.0.0.1:${redis.port}`] };
    expect(await client.request("node.info")).toMatchObject({ node_id: "a", redis: redisInfo });
    const page = await fetch(`http://127.0.0.1:${node.port}/demo-config.json`);
    expect(await page.json()).toMatchObject({ nodeId: "a", broker: "redis", redis: redisInfo });
  });

  it("produces on exactly one node, and another takes over without a gap in n", async () => {
    // The lease is taken within a few renew intervals of start-up.
    if (!nodes.some((node) => node.producing)) {
      await new Promise<void>((resolve) => {
        const undos = nodes.map((node) =>
          node.onProducingChange((producing) => {
            if (!producing) return;
            for (const undo of undos) undo();
            resolve();
          }),
        );
      });
    }
    expect(nodes.filter((node) => node.producing)).toHaveLength(1);
    const holder = nodes.find((node) => node.producing) as DemoServer;
    const other = nodes.find((node) => !node.producing) as DemoServer;

    // A client on the node that does not produce still gets every tick.
    const client = connect(other);
    const seen: number[] = [];
    let handedOver = false;
    let handover: Promise<void> = Promise.resolve();
    await new Promise<void>((resolve) => {
      client.subscribe(TICKS_TOPIC, (data: unknown) => {
        seen.push((data as { n: number }).n);
        if (seen.length === 10 && !handedOver) {
          handedOver = true;
          // Graceful stop of the holder releases the lease at once.
          handover = holder.close();
        }
        if (seen.length === 40) resolve();
      });
    });
    await handover;
    expect(other.producing).toBe(true);
    for (let i = 1; i < seen.length; i += 1) expect(seen[i]).toBe((seen[i - 1] ?? 0) + 1);
  });
});
