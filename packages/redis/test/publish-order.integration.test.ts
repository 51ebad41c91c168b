import { exponential } from "@lifeline/backoff";
import { createClient } from "@lifeline/client";
import type { PublishAck } from "@lifeline/protocol";
import { createServer } from "@lifeline/server";
import {
  createDisposer,
  publishOrderProblems,
  type RedisServer,
  startRedisServer,
  withAppendFaults,
  within,
} from "@lifeline/test-support";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
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
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        async (count, topics, refusals) => {
          const { server, broker } = await node(refusals);
          const client = createClient({
            url: `ws://127.0.0.1:${server.port}/ws`,
            role: "test",
            lifecycle: false,
            logLevel: "silent",
            publishRetry: quickRetry,
          });
          disposer.add(() => client.close());
          const calls: Promise<PublishAck>[] = [];
          for (let n = 0; n < count; n += 1) calls.push(client.publish(`order/${n % topics}`, n));
          const acks = await within(Promise.all(calls), `${count} publishes acknowledged`, 10_000);
          expect(publishOrderProblems(acks)).toEqual([]);
          for (let topic = 0; topic < topics; topic += 1) {
            const head = await broker.head(`order/${topic}`);
            expect(head.offset).toBe(acks.filter((a) => a.topic === `order/${topic}`).length);
          }
          await disposer.run();
        },
      ),
      { numRuns: 25 },
    );
  });
});
