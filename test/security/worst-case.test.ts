import { afterEach, describe, expect, it } from "vitest";
import {
  addHangingMethod,
  disposer,
  expectBystanderServed,
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
} from "./support/attack-harness.js";

// docs/reliability.md, "What one address can make the server hold": each resource limit
// attacked with the server's defaults by as many connections as one address may open
// (`maxConnectionsPerIp`, 100), each at its per-connection limit and within the default
// message rate (100/s, bursts of 200), while a bystander on another address round-trips.
// The heap growth printed is the figure the table states; the bound asserted is the
// table's, with the slack of the other attack tests. About 30 s in all.

afterEach(() => disposer.run());

/** `maxConnectionsPerIp` by default. */
const CONNECTIONS = 100;
/** Rounds of 25 messages every 250 ms: the default rate of 100 messages a second. */
const ROUND = 25;
const ROUND_EVERY_MS = 250;

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

describe("with the defaults, the most one address can make the server hold", () => {
  it("subscriptions: 100 connections at maxSubscriptionsPerConnection (1,000) each", async () => {
    const LIMIT = 1000;
    /** docs/reliability.md: 1.15 KiB per subscription to a topic of its own, with room. */
    const PER_SUBSCRIPTION_BYTES = 1536;
    const { t, attacker, bystander, heapBefore } = await setup({});
    const names = await openAll(attacker, "subscriber", CONNECTIONS);
    const answers = await Promise.all(
      names.map((name) =>
        attacker.send(name, subscribesToNewTopics(name, LIMIT + 1), ROUND, ROUND_EVERY_MS),
      ),
    );
    const { p99 } = await expectBystanderServed(bystander);
    const heapGrowth = heapUsed() - heapBefore;
    for (const summary of answers) {
      expect(summary).toEqual({ subscribed: LIMIT, "response:limit_exceeded": 1 });
    }
    const held = CONNECTIONS * LIMIT;
    expect(t.server.stats().topics).toEqual({ active: held, subscriptions: held });
    console.info(
      `[security] worst case, subscriptions: ${held} held, heap +${mib(heapGrowth)} MiB (${Math.round(heapGrowth / held)} B each); bystander p99 ${p99.toFixed(1)} ms`,
    );
    expect(heapGrowth).toBeLessThan(held * PER_SUBSCRIPTION_BYTES + HEAP_SLACK_BYTES);
  });

  it("topics: 100 connections publishing to new topics until maxTopics (100,000)", async () => {
    const MAX_TOPICS = 100_000;
    const PER_CONNECTION = MAX_TOPICS / CONNECTIONS + 1;
    /** docs/reliability.md: 1.07 KiB per topic with one small message, with room. */
    const PER_TOPIC_BYTES = 1536;
    // Without a contract, topics are server-owned; this server lets clients publish.
    const { attacker, bystander, heapBefore } = await setup({ authorize: () => true });
    const names = await openAll(attacker, "publisher", CONNECTIONS);
    const answers = await Promise.all(
      names.map((name) =>
        attacker.send(name, publishesToNewTopics(name, PER_CONNECTION), ROUND, ROUND_EVERY_MS),
      ),
    );
    const { p99 } = await expectBystanderServed(bystander);
    const heapGrowth = heapUsed() - heapBefore;
    const acked = total(answers, "response:ok");
    const overloaded = total(answers, "response:overloaded");
    expect({ acked, overloaded }).toEqual({ acked: MAX_TOPICS, overloaded: CONNECTIONS });
    console.info(
      `[security] worst case, topics: ${acked} held, heap +${mib(heapGrowth)} MiB (${Math.round(heapGrowth / acked)} B each); bystander p99 ${p99.toFixed(1)} ms`,
    );
    expect(heapGrowth).toBeLessThan(MAX_TOPICS * PER_TOPIC_BYTES + HEAP_SLACK_BYTES);
  });

  it("pending requests: 100 connections at maxPendingRequestsPerConnection (100) each", async () => {
    const LIMIT = 100;
    /** docs/reliability.md: 2.1 KiB per pending request, with room. */
    const PER_REQUEST_BYTES = 3072;
    const { t, attacker, bystander, heapBefore } = await setup({});
    addHangingMethod(t);
    const names = await openAll(attacker, "requester", CONNECTIONS);
    // 101 at once is within the default burst of 200 messages.
    const answers = await Promise.all(
      names.map((name) => attacker.send(name, hangingRequests(LIMIT + 1))),
    );
    const { p99 } = await expectBystanderServed(bystander);
    const heapGrowth = heapUsed() - heapBefore;
    for (const summary of answers) expect(summary).toEqual({ "response:rate_limited": 1 });
    const held = CONNECTIONS * LIMIT;
    console.info(
      `[security] worst case, pending requests: ${held} held, heap +${mib(heapGrowth)} MiB (${Math.round(heapGrowth / held)} B each); bystander p99 ${p99.toFixed(1)} ms`,
    );
    expect(heapGrowth).toBeLessThan(held * PER_REQUEST_BYTES + HEAP_SLACK_BYTES);
  });

  it("handshakes: one address connecting in a loop with a new client_id each time", async () => {
    const ATTEMPTS = 400;
    const { attacker, bystander, heapBefore } = await setup({});
    const result = await attacker.loop(
      range(ATTEMPTS).map((i) => `loop-${i}`),
      false,
    );
    const { p99 } = await expectBystanderServed(bystander);
    const heapGrowth = heapUsed() - heapBefore;
    const elapsedS = result.elapsedMs / 1000;
    // The defaults: bursts of 200, then 10 a second.
    expect(result.admitted).toBeGreaterThanOrEqual(200);
    expect(result.admitted).toBeLessThanOrEqual(200 + Math.ceil(elapsedS * 10) + 1);
    expect(result.refused.every((r) => r.status === 429)).toBe(true);
    console.info(
      `[security] worst case, handshakes: ${ATTEMPTS} in ${elapsedS.toFixed(1)} s, ${result.admitted} admitted (a client_id bucket each), heap +${Math.round(heapGrowth / 1024)} KiB; bystander p99 ${p99.toFixed(1)} ms`,
    );
    expect(heapGrowth).toBeLessThan(HANDSHAKE_HEAP_BOUND_BYTES);
  });
});
