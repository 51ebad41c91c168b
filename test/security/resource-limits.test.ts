import { afterEach, describe, expect, it } from "vitest";
import {
  addHangingMethod,
  BYSTANDER,
  connect,
  disposer,
  expectBystanderUnharmed,
  HANDSHAKE_HEAP_BOUND_BYTES,
  HEAP_SLACK_BYTES,
  hangingRequests,
  heapUsed,
  openAll,
  publishesToNewTopics,
  range,
  setup,
  subscribesToNewTopics,
  total,
  unthrottled,
  warnings,
} from "./support/attack-harness.js";
import { httpGet } from "./support/server.js";

// The resource limits of PROTOCOL.md "Limits", each attacked from one loopback address
// (127.0.0.2) while a bystander on another (127.0.0.3) keeps round-tripping requests. Each
// test states the refusals the attacker must get and the heap the server may grow by, from
// the per-item costs measured for docs/reliability.md. worst-case.test.ts runs the same
// attacks at the defaults, as large as one address can make them.

afterEach(() => disposer.run());

describe("resource limits, attacked from one address", () => {
  it("answers subscribes past maxSubscriptionsPerConnection with limit_exceeded and keeps the connection", async () => {
    const CONNECTIONS = 4;
    const LIMIT = 1000;
    const ASKED = 1100;
    /** Per subscription to a topic of its own (docs/reliability.md), with room for noise. */
    const PER_SUBSCRIPTION_BYTES = 1536;
    const { t, attacker, bystander, heapBefore } = await setup({ limits: { rate: unthrottled } });
    const names = await openAll(attacker, "subscriber", CONNECTIONS);
    const answers = await Promise.all(
      names.map((name) => attacker.send(name, subscribesToNewTopics(name, ASKED), 25)),
    );
    // Stopped before the heap is measured: a full GC would stall the round trip in flight.
    const { p99 } = await expectBystanderUnharmed(bystander);
    const heapGrowth = heapUsed() - heapBefore;
    for (const summary of answers) {
      expect(summary).toEqual({ subscribed: LIMIT, "response:limit_exceeded": ASKED - LIMIT });
    }
    // Kept: it is still answered, and a topic it holds may be asked for again.
    const again = await attacker.send(
      names[0] as string,
      [{ type: "subscribe", id: "again", topic: `${names[0]}/0` }],
      1,
    );
    expect(again).toEqual({ subscribed: 1 });
    const held = CONNECTIONS * LIMIT;
    console.info(
      `[security] subscriptions: ${CONNECTIONS} x ${ASKED} asked, ${held} held, heap +${Math.round(heapGrowth / 1024)} KiB (${Math.round(heapGrowth / held)} B per subscription); bystander p99 ${p99.toFixed(1)} ms`,
    );
    expect(t.server.stats().limitRefusals.maxSubscriptionsPerConnection).toBe(
      CONNECTIONS * (ASKED - LIMIT),
    );
    expect(warnings(t, "maxSubscriptionsPerConnection")).toBe(CONNECTIONS);
    expect(heapGrowth).toBeLessThan(held * PER_SUBSCRIPTION_BYTES + HEAP_SLACK_BYTES);
  });

  it("refuses new topics past maxTopics with overloaded while existing topics keep working", async () => {
    const CONNECTIONS = 4;
    const PER_CONNECTION = 1000;
    const MAX_TOPICS = 3000;
    /** Per topic with one small retained message and its dedupe record, with room for noise. */
    const PER_TOPIC_BYTES = 1536;
    const { t, attacker, bystander, heapBefore } = await setup({
      limits: { rate: unthrottled, maxTopics: MAX_TOPICS },
      // Without a contract, topics are server-owned; this server lets clients publish.
      authorize: () => true,
    });
    const names = await openAll(attacker, "publisher", CONNECTIONS);
    const answers = await Promise.all(
      names.map((name) => attacker.send(name, publishesToNewTopics(name, PER_CONNECTION), 25)),
    );
    const { p99 } = await expectBystanderUnharmed(bystander);
    const heapGrowth = heapUsed() - heapBefore;
    const acked = total(answers, "response:ok");
    const overloaded = total(answers, "response:overloaded");
    expect({ acked, overloaded }).toEqual({
      acked: MAX_TOPICS,
      overloaded: CONNECTIONS * PER_CONNECTION - MAX_TOPICS,
    });
    // A topic that exists still takes publishes.
    const again = await attacker.send(
      names[0] as string,
      [{ type: "publish", id: "again", topic: `${names[0]}/0`, data: {} }],
      1,
    );
    expect(again).toEqual({ "response:ok": 1 });
    console.info(
      `[security] topics: ${CONNECTIONS * PER_CONNECTION} publishes to new topics, ${acked} held, heap +${Math.round(heapGrowth / 1024)} KiB (${Math.round(heapGrowth / acked)} B per topic); bystander p99 ${p99.toFixed(1)} ms`,
    );
    expect(t.server.stats().limitRefusals.maxTopics).toBe(overloaded);
    expect(warnings(t, "maxTopics")).toBeGreaterThan(0);
    expect(warnings(t, "maxTopics")).toBeLessThanOrEqual(CONNECTIONS);
    expect(heapGrowth).toBeLessThan(MAX_TOPICS * PER_TOPIC_BYTES + HEAP_SLACK_BYTES);
  });

  it("answers requests past maxPendingRequestsPerConnection with rate_limited and keeps the connection", async () => {
    const CONNECTIONS = 10;
    const LIMIT = 100;
    const SENT = 150;
    /** Per request held by a handler that has not answered, with room for noise. */
    const PER_REQUEST_BYTES = 3072;
    const { t, attacker, bystander, heapBefore } = await setup({});
    addHangingMethod(t);
    const names = await openAll(attacker, "requester", CONNECTIONS);
    // Sent at once, under the message rate limit; the pong after them says all were handled.
    const answers = await Promise.all(
      names.map((name) => attacker.send(name, hangingRequests(SENT))),
    );
    const { p99 } = await expectBystanderUnharmed(bystander);
    const heapGrowth = heapUsed() - heapBefore;
    for (const summary of answers)
      expect(summary).toEqual({ "response:rate_limited": SENT - LIMIT });
    const held = CONNECTIONS * LIMIT;
    console.info(
      `[security] pending requests: ${CONNECTIONS} x ${SENT} sent, ${held} held, heap +${Math.round(heapGrowth / 1024)} KiB (${Math.round(heapGrowth / held)} B per request); bystander p99 ${p99.toFixed(1)} ms`,
    );
    const metrics = (await httpGet(t.port, "/metrics")).body;
    expect(metrics).toContain(
      `lifeline_limit_refusals_total{limit="maxPendingRequestsPerConnection"} ${CONNECTIONS * (SENT - LIMIT)}`,
    );
    expect(warnings(t, "maxPendingRequestsPerConnection")).toBe(CONNECTIONS);
    expect(heapGrowth).toBeLessThan(held * PER_REQUEST_BYTES + HEAP_SLACK_BYTES);
  });

  it("refuses handshakes past the per-address rate with HTTP 429 before the upgrade; other addresses get in", async () => {
    const BURST = 50;
    const PER_SECOND = 5;
    const ATTEMPTS = 150;
    const { t, attacker, bystander, heapBefore } = await setup({
      limits: { handshakeRate: { perAddressBurst: BURST, perAddressPerSecond: PER_SECOND } },
    });
    // A fresh client_id each time, so only the address's budget is in play.
    const result = await attacker.loop(
      range(ATTEMPTS).map((i) => `loop-${i}`),
      false,
    );
    const { p99 } = await expectBystanderUnharmed(bystander);
    const heapGrowth = heapUsed() - heapBefore;
    const elapsedS = result.elapsedMs / 1000;
    expect(result.admitted).toBeGreaterThanOrEqual(BURST);
    expect(result.admitted).toBeLessThanOrEqual(BURST + Math.ceil(elapsedS * PER_SECOND) + 1);
    expect(result.refused.length).toBe(ATTEMPTS - result.admitted);
    expect(result.refused.every((r) => r.status === 429 && r.retryAfter === "1")).toBe(true);
    // Another address has a budget of its own.
    expect((await connect(t, BYSTANDER, "neighbour")).kind).toBe("open");
    console.info(
      `[security] handshakes per address: ${ATTEMPTS} in ${elapsedS.toFixed(1)} s, ${result.admitted} admitted, ${result.refused.length} refused 429, heap +${Math.round(heapGrowth / 1024)} KiB; bystander p99 ${p99.toFixed(1)} ms`,
    );
    const stats = t.server.stats();
    expect(stats.limitRefusals["handshakeRate.perAddress"]).toBe(result.refused.length);
    expect(stats.handshakeFailures.handshake_rate_per_address).toBe(result.refused.length);
    expect(warnings(t, "handshakeRate.perAddress")).toBeGreaterThan(0);
    expect(heapGrowth).toBeLessThan(HANDSHAKE_HEAP_BOUND_BYTES);
  });

  it("closes a client_id reconnecting in a loop with 4429, and its address's other clients still get in", async () => {
    const ATTEMPTS = 60;
    // An address budget smaller than the attempts: were the refused ones charged to it,
    // the other tab below would be refused too.
    const { t, attacker, bystander, heapBefore } = await setup({
      limits: { handshakeRate: { perAddressBurst: 30, perAddressPerSecond: 1 } },
    });
    const result = await attacker.loop(
      range(ATTEMPTS).map(() => "looping"),
      true,
    );
    const { p99 } = await expectBystanderUnharmed(bystander);
    const heapGrowth = heapUsed() - heapBefore;
    const elapsedS = result.elapsedMs / 1000;
    // The defaults: a burst of 20, then one a second.
    expect(result.admitted).toBeGreaterThanOrEqual(20);
    expect(result.admitted).toBeLessThanOrEqual(20 + Math.ceil(elapsedS) + 1);
    expect(result.closed.length).toBe(ATTEMPTS - result.admitted);
    expect(result.closed.every((code) => code === 4429)).toBe(true);
    expect(await attacker.open("other-tab", "other-tab")).toEqual({ kind: "open" });
    console.info(
      `[security] handshakes per client_id: ${ATTEMPTS} in ${elapsedS.toFixed(1)} s, ${result.admitted} admitted, ${result.closed.length} closed 4429, heap +${Math.round(heapGrowth / 1024)} KiB; bystander p99 ${p99.toFixed(1)} ms`,
    );
    expect(t.server.stats().limitRefusals["handshakeRate.perClient"]).toBe(result.closed.length);
    expect(warnings(t, "handshakeRate.perClient")).toBe(1);
    expect(heapGrowth).toBeLessThan(HANDSHAKE_HEAP_BOUND_BYTES);
  });
});
