import type { BrokerHealth } from "@lifeline/server";
import { startRedisServer } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { createRedisBroker, RedisBrokerErrorCode } from "../src/index.js";
import { type InProcessNode, startNode } from "./cluster.js";
import { checkDeliveries } from "./delivery-check.js";
import { startFreezableProxy } from "./freezable-proxy.js";
import { createLogRecorder, range, waitForHealth, within } from "./helpers.js";
import { createRecordingClient, type RecordingClient } from "./recording-client.js";

const disposers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

function client(name: string, url: string): RecordingClient {
  const c = createRecordingClient({ name, urls: [url] });
  disposers.push(() => c.client.close());
  return c;
}

async function publishMany(node: InProcessNode, topic: string, count: number) {
  const acks = [];
  for (let i = 0; i < count; i++)
    acks.push(await node.server.publish(topic, { via: node.name, i }));
  return acks;
}

describe("a node cut off from Redis without the connection closing", () => {
  it("reports unhealthy on /health, refuses appends, then catches up with no gap and no duplicate", async () => {
    const redis = await startRedisServer();
    disposers.push(() => redis.dispose());
    const proxy = await startFreezableProxy(redis.port);
    disposers.push(() => proxy.close());
    const log = createLogRecorder();
    const ping = { pingIntervalMs: 200, pingTimeoutMs: 300, commandTimeoutMs: 1000 };
    const cutOff = await startNode("a", {
      url: proxy.url,
      keyPrefix: "part:",
      logger: log,
      ...ping,
    });
    const other = await startNode("b", { url: redis.url, keyPrefix: "part:", ...ping });
    disposers.push(
      () => cutOff.stop(),
      () => other.stop(),
    );
    const onCutOff = client("on-a", cutOff.url);
    const onOther = client("on-b", other.url);
    for (const c of [onCutOff, onOther]) c.subscribe("feed");
    await Promise.all([onCutOff.subscribed("feed"), onOther.subscribed("feed")]);

    const first = await publishMany(other, "feed", 10);
    const epoch = first[0]?.epoch ?? "";
    await Promise.all([onCutOff, onOther].map((c) => c.reached("feed", { epoch, offset: 10 })));

    proxy.freeze();
    await waitForHealth(cutOff.broker, (h) => !h.healthy, 5000);
    await log.waitFor(/no reply to PING/);
    const health = await fetch(`${cutOff.httpUrl}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ services: { broker: { healthy: false } } });
    expect((await fetch(`${other.httpUrl}/health`)).status).toBe(200);
    await expect(cutOff.server.publish("feed", "lost?")).rejects.toMatchObject({
      code: expect.stringMatching(
        new RegExp(`${RedisBrokerErrorCode.Unavailable}|${RedisBrokerErrorCode.OutcomeUnknown}`),
      ),
    });
    // The rest of the cluster goes on; the cut-off node's client stays connected.
    await publishMany(other, "feed", 10);
    await onOther.reached("feed", { epoch, offset: 20 });
    expect(onCutOff.client.status).toBe("open");

    proxy.thaw();
    await waitForHealth(cutOff.broker, (h) => h.healthy, 10_000);
    expect((await fetch(`${cutOff.httpUrl}/health`)).status).toBe(200);
    // What was appended meanwhile is read from the stream, then delivery goes on live.
    await onCutOff.reached("feed", { epoch, offset: 20 });
    const last = await publishMany(cutOff, "feed", 10);
    expect(last.map((a) => a.offset)).toEqual(range(21, 30));
    await Promise.all([onCutOff, onOther].map((c) => c.reached("feed", { epoch, offset: 30 })));

    const want = {
      count: 30,
      duplicates: [],
      gaps: [],
      outOfOrder: [],
      epochs: [epoch],
      first: { epoch, offset: 1 },
      last: { epoch, offset: 30 },
    };
    for (const c of [onCutOff, onOther]) {
      expect(checkDeliveries(c.topic("feed").wire), c.name).toMatchObject(want);
      expect(checkDeliveries(c.topic("feed").handled), c.name).toMatchObject(want);
      expect(c.gaps).toEqual([]);
    }
  });
});

describe("PINGs on a healthy connection", () => {
  it("are answered on both connections, subscribed or not, without a health change", async () => {
    const redis = await startRedisServer();
    disposers.push(() => redis.dispose());
    // Count the PINGs each of the broker's connections sends, on their way through.
    const pings = new Map<number, number>();
    let wake = () => {};
    const proxy = await startFreezableProxy(redis.port, (connection, chunk) => {
      const found = chunk.toString("latin1").match(/\r\nping\r\n/gi)?.length ?? 0;
      if (found === 0) return;
      pings.set(connection, (pings.get(connection) ?? 0) + found);
      wake();
    });
    disposers.push(() => proxy.close());
    const log = createLogRecorder();
    const broker = createRedisBroker({
      url: proxy.url,
      keyPrefix: "ping:",
      pingIntervalMs: 20,
      pingTimeoutMs: 200,
      logger: log,
    });
    disposers.push(() => broker.close());
    await within(broker.ready(), "broker ready", 5000);
    const changes: BrokerHealth[] = [];
    broker.onHealthChange((health) => changes.push(health));
    await broker.subscribe("quiet", () => {});

    const tenEach = () => pings.size >= 2 && [...pings.values()].every((n) => n >= 10);
    await within(
      new Promise<void>((resolve) => {
        wake = () => {
          if (tenEach()) resolve();
        };
        wake();
      }),
      "ten PINGs from each connection",
      5000,
    );
    expect(changes).toEqual([]);
    expect(broker.health()).toEqual({ healthy: true });
    expect(log.count(/no reply to PING/)).toBe(0);
  });
});
