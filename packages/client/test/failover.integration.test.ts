import { createMemoryBroker, createServer, type LifelineServer } from "@lifeline/server";
import {
  createFakeClock,
  type FakeClock,
  upgradeStatus,
  within,
  withSettableHealth,
} from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../src/node.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { waitForState } from "./helpers/wait.js";
import { wireOptions, wireUrl } from "./helpers/wire.js";

// Two real Lifeline servers on 127.0.0.1: one whose broker reports itself unhealthy, so the
// node refuses upgrades with 503 and closes its clients (shutdown, then 1012), and a healthy
// one. The client's timers run on a manual clock, so a "retry at once" shows as a 0 ms
// timer; each server's outage timer runs on a fake clock the test advances.

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

interface Node {
  readonly server: LifelineServer;
  readonly url: string;
  readonly clock: FakeClock;
  /** The broker reports unhealthy; after `closeAfterMs` the node stops serving. */
  loseBroker(): void;
}

async function node(): Promise<Node> {
  const clock = createFakeClock();
  const broker = withSettableHealth(createMemoryBroker());
  const server = await createServer({
    port: 0,
    logger: false,
    broker,
    clock,
    heartbeat: { intervalMs: 0 },
    brokerOutage: { closeAfterMs: 1000, reconnectAfterMs: 0, spreadMs: 0 },
    shutdown: { batchIntervalMs: 0 },
  });
  disposers.push(() => broker.close());
  disposers.push(() => server.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 }));
  return {
    server,
    clock,
    url: `ws://127.0.0.1:${server.port}/ws`,
    loseBroker() {
      broker.setHealth({ healthy: false, detail: "the test cut the broker off" });
      clock.advance(1000);
    },
  };
}

function client(urls: readonly string[]) {
  const clock = new ManualClock();
  const c = createClient({
    ...wireOptions(),
    url: urls,
    clientId: "failover-client",
    role: "test",
    clock,
    random: () => 0.5,
    lifecycle: false,
    logLevel: "silent",
  });
  disposers.push(() => c.close());
  return { client: c, clock };
}

const refusedStatus = (n: Node) =>
  upgradeStatus(`${n.url}?client_id=probe&version=1&role=test`, {}, 5000);

describe("a client with several URLs, against a node that lost its broker", () => {
  it("goes to the next node at once when the first refuses the upgrade with 503", async () => {
    const [down, up] = [await node(), await node()];
    down.loseBroker();
    expect(await refusedStatus(down)).toBe(503);

    const { client: c, clock } = client([down.url, up.url]);
    const drop = await within(waitForState(c, "reconnecting"), "the refusal");
    expect(drop?.cause).toMatchObject({ errorClass: "handshake" });
    expect(clock.pending()).toEqual([0]);
    clock.runNext();
    await within(waitForState(c, "open"), "open on the healthy node");
    expect(c.stats().url).toBe(wireUrl(up.url));
    expect(up.server.stats().connections.active).toBe(1);
    expect(down.server.stats().handshakeFailures.broker_unavailable).toBe(2);
  });

  it("moves a connected client to the next node when its node closes it for the outage", async () => {
    const [a, b] = [await node(), await node()];
    const { client: c, clock } = client([a.url, b.url]);
    await within(waitForState(c, "open"), "open on the first node");
    expect(c.stats().url).toBe(wireUrl(a.url));

    const dropped = waitForState(c, "reconnecting");
    a.loseBroker();
    expect((await within(dropped, "the shutdown"))?.cause).toMatchObject({ code: 1012 });
    // reconnect_after_ms 0, plus the client's spread over 1 s at random 0.5.
    expect(clock.pending()).toEqual([500]);
    clock.runNext();
    await within(waitForState(c, "open"), "open on the other node");
    expect(c.stats().url).toBe(wireUrl(b.url));
    expect(a.server.stats().handshakeFailures.broker_unavailable ?? 0).toBe(0);
  });

  it("backs off at least 5 s once every node has refused with 503", async () => {
    const [a, b] = [await node(), await node()];
    a.loseBroker();
    b.loseBroker();
    const { client: c, clock } = client([a.url, b.url]);
    await within(waitForState(c, "reconnecting"), "the first refusal");
    expect(clock.pending()).toEqual([0]);
    const second = new Promise<void>((resolve) => {
      const stop = c.on("state", (change) => {
        if (change.next !== "reconnecting") return;
        stop();
        resolve();
      });
    });
    clock.runNext();
    await within(second, "the second refusal");
    expect(clock.pending()).toEqual([5000 + 500 * 3]);
    expect(c.getSnapshot().nextRetryAt).toBe(clock.now() + 6500);
    expect([a, b].map((n) => n.server.stats().handshakeFailures.broker_unavailable ?? 0)).toEqual([
      1, 1,
    ]);
  });
});
