import { exponential } from "@lifeline/backoff";
import { createClient } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import {
  createDisposer,
  publishOrderProperty,
  type RedisServer,
  startRedisServer,
  withAppendFaults,
  within,
} from "@lifeline/test-support";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import { createRedisBroker } from "../src/index.js";

// The publish-order property of PROTOCOL.md ("Publish order") on the Redis broker: one
// client's publishes to a topic land in call order whichever appends fail, and the log in
// Redis holds each exactly once. Failed appends are injected in front of the broker, as a
// Redis that drops the command would fail them; the server answers them `overloaded`.

let redis: RedisServer;
const disposer = createDisposer();
let run = 0;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.dispose());
afterEach(() => disposer.run());

const quickRetry = exponential({
  baseMs: 1,
  capMs: 8,
  maxAttempts: Number.POSITIVE_INFINITY,
  jitter: "none",
});

async function node(refusals: readonly boolean[]) {
  run += 1;
  const broker = createRedisBroker({ url: redis.url, keyPrefix: `order${run}:` });
  const faulty = withAppendFaults(broker, (call) => refusals[call] ?? false);
  await within(broker.ready(), "redis broker ready");
  const server = await createServer({
    port: 0,
    logger: false,
    broker: faulty,
    authorize: () => true,
  });
  disposer.add(() => broker.close());
  disposer.add(() => server.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 }));
  return { server, broker };
}

describe("publish order on the Redis broker", () => {
  it("appends each topic's publishes in call order whatever appends fail", async () => {
    const rig = async (refusals: readonly boolean[]) => {
      const { server, broker } = await node(refusals);
      const client = createClient({
        url: `ws://127.0.0.1:${server.port}/ws`,
        role: "test",
        lifecycle: false,
        logLevel: "silent",
        publishRetry: quickRetry,
      });
      disposer.add(() => client.close());
      return {
        publish: (topic: string, n: number) => client.publish(topic, n),
        headOffset: async (topic: string) => (await broker.head(topic)).offset,
      };
    };
    await fc.assert(
      publishOrderProperty(rig, () => disposer.run(), 20),
      { numRuns: 25 },
    );
  });
});
