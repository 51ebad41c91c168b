import { expect } from "vitest";
import { checkDeliveries, type DeliveryReport } from "./delivery-check.js";
import type { RecordingClient } from "./recording-client.js";

/** What a clean delivery of offsets 1..head of one epoch looks like. */
function clean(epoch: string, head: number): Partial<DeliveryReport> {
  return {
    count: head,
    duplicates: [],
    gaps: [],
    outOfOrder: [],
    epochs: [epoch],
    first: { epoch, offset: 1 },
    last: { epoch, offset: head },
  };
}

/** Both what the server sent and what the application saw, for every client. */
function reports(clients: readonly RecordingClient[], topic: string) {
  return clients.map((c) => ({
    name: c.name,
    wire: checkDeliveries(c.topic(topic).wire),
    handled: checkDeliveries(c.topic(topic).handled),
    gaps: c.gaps.length,
    duplicatesDropped: c.client.stats().duplicatesDropped,
  }));
}

/**
 * Every client, on the wire and in its handler, got offsets 1..head of `epoch` of `topic`
 * once each and in order, with no gap reported and no duplicate dropped.
 */
export function expectExactlyOnce(
  clients: readonly RecordingClient[],
  topic: string,
  epoch: string,
  head: number,
): void {
  const want = clean(epoch, head);
  for (const report of reports(clients, topic)) {
    expect(report, report.name).toMatchObject({
      wire: want,
      handled: want,
      gaps: 0,
      duplicatesDropped: 0,
    });
  }
}
