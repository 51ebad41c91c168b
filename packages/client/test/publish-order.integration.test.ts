import { exponential } from "@lifeline/backoff";
import type { PublishAck } from "@lifeline/protocol";
import { createMemoryBroker, createServer, type LifelineServer } from "@lifeline/server";
import {
  createDisposer,
  publishOrderProblems,
  publishOrderProperty,
  withAppendFaults,
  within,
} from "@lifeline/test-support";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../src/node.js";
import type { ClientOptions } from "../src/options.js";
import { waitForState } from "./helpers/wait.js";
import { wireOptions } from "./helpers/wire.js";

// One client's publishes to a topic are appended in the order `publish()` was called,
// whichever of them the server refuses for a passing reason (PROTOCOL.md, "Publish
// order"). Refusals come from a broker whose chosen appends fail (answered `overloaded`)
// and from the server's rate limit (`rate_limited`); the real client and server talk over
// 127.0.0.1. Resends are a few milliseconds apart so that a property run stays short.

const disposer = createDisposer();
afterEach(() => disposer.run());

const quickRetry = exponential({
  baseMs: 1,
  capMs: 8,
  maxAttempts: Number.POSITIVE_INFINITY,
  jitter: "none",
});

type ServerOptions = NonNullable<Parameters<typeof createServer>[0]>;

async function start(options: ServerOptions): Promise<LifelineServer> {
  const server = await createServer({
    port: 0,
    logger: false,
    // Publishing is what is under test, so every client may publish anywhere.
    authorize: () => true,
    ...options,
  });
  disposer.add(() => server.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 }));
  return server;
}

function connect(server: LifelineServer, options: Partial<ClientOptions> = {}) {
  const client = createClient({
    ...wireOptions(),
    url: `ws://127.0.0.1:${server.port}/ws`,
    role: "test",
    lifecycle: false,
    logLevel: "silent",
    publishRetry: quickRetry,
    ...options,
  });
  disposer.add(() => client.close());
  return client;
}

/** Publishes `count` numbers round-robin over `topics` topics without waiting in between. */
function publishAll(
  client: ReturnType<typeof createClient>,
  count: number,
  topics: number,
): Promise<PublishAck[]> {
  const calls = Array.from({ length: count }, (_, n) => client.publish(`order/${n % topics}`, n));
  return within(Promise.all(calls), `${count} publishes acknowledged`, 10_000);
}

describe("publish order under refusals", () => {
  it("appends each topic's publishes in call order whatever appends the broker refuses", async () => {
    const rig = async (refusals: readonly boolean[]) => {
      const broker = withAppendFaults(createMemoryBroker(), (call) => refusals[call] ?? false);
      const client = connect(await start({ broker }));
      return {
        publish: (topic: string, n: number) => client.publish(topic, n),
        headOffset: async (topic: string) => (await broker.head(topic)).offset,
      };
    };
    await fc.assert(
      publishOrderProperty(rig, () => disposer.run()),
      { numRuns: 40 },
    );
  });

  it("keeps call order when the server's rate limit refuses part of a burst", async () => {
    const broker = createMemoryBroker();
    const server = await start({
      broker,
      limits: { rate: { perSecond: 200, burst: 8 }, abuse: { maxViolations: 10_000 } },
    });
    const client = connect(server);
    const acks = await publishAll(client, 60, 2);
    expect(publishOrderProblems(acks)).toEqual([]);
    expect(client.stats().pendingPublishes).toBe(0);
  });

  it("still appends later publishes when the application gives up on a refused one", async () => {
    let refuseFirst = true;
    const broker = withAppendFaults(createMemoryBroker(), () => {
      const refuse = refuseFirst;
      refuseFirst = false;
      return refuse;
    });
    const server = await start({ broker });
    const client = connect(server, {
      publishRetry: exponential({ baseMs: 50, capMs: 50, maxAttempts: 1, jitter: "none" }),
    });
    await within(waitForState(client, "open"), "the client open");
    const abandoned = new AbortController();
    const first = client.publish("order/given-up", "first", { signal: abandoned.signal });
    const second = client.publish("order/given-up", "second");
    abandoned.abort();
    await expect(first).rejects.toMatchObject({ code: "aborted" });
    // The server refuses "second" until the refused "first" comes back, so the client
    // still sends "first" again although nobody waits for it: both land, in call order.
    const ack = await within(second, "the publish behind the abandoned one");
    expect(ack.offset).toBe(2);
    const history = await broker.readSince("order/given-up", 0, ack.epoch);
    expect(history.entries.map((e) => e.data)).toEqual(["first", "second"]);
  });
});
