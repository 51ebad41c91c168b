import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createLimitReporter, Limit } from "../src/limits.js";
import { createCounters } from "../src/stats.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (text.trim() !== "") lines.push(JSON.parse(text) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { lines, logger: pino({ level: "debug" }, stream) };
}

describe("limit reporter", () => {
  it("counts every refusal and warns once per connection and limit, naming the limit", () => {
    const counters = createCounters();
    const { lines, logger } = capture();
    const reporter = createLimitReporter(counters, logger);
    const connection = {};
    for (let i = 0; i < 3; i += 1) {
      reporter.refused(Limit.SubscriptionsPerConnection, { connection_id: "c1" }, connection);
    }
    reporter.refused(Limit.PendingRequestsPerConnection, { connection_id: "c1" }, connection);
    reporter.refused(Limit.SubscriptionsPerConnection, { connection_id: "c2" }, {});
    expect(counters.limitRefusals).toEqual({
      maxSubscriptionsPerConnection: 4,
      maxPendingRequestsPerConnection: 1,
    });
    expect(lines.map((line) => [line.level, line.limit, line.connection_id])).toEqual([
      [40, "maxSubscriptionsPerConnection", "c1"],
      [40, "maxPendingRequestsPerConnection", "c1"],
      [40, "maxSubscriptionsPerConnection", "c2"],
    ]);
  });

  it("warns for a handshake refusal only when told to", () => {
    const counters = createCounters();
    const { lines, logger } = capture();
    const reporter = createLimitReporter(counters, logger);
    reporter.refused(Limit.HandshakesPerAddress, { remote_address: "10.0.0.1" }, true);
    reporter.refused(Limit.HandshakesPerAddress, { remote_address: "10.0.0.1" }, false);
    expect(counters.limitRefusals).toEqual({ "handshakeRate.perAddress": 2 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      limit: "handshakeRate.perAddress",
      remote_address: "10.0.0.1",
    });
  });
});
