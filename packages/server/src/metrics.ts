import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ServerStats } from "./stats.js";

/**
 * Prometheus metrics on a registry of this server's own (never prom-client's global one,
 * so two servers in a process, or an application's own metrics, do not collide).
 * Counters are filled from `stats()` at scrape time; only broadcast latency is observed
 * as it happens.
 */
export interface Metrics {
  readonly registry: Registry;
  observeBroadcast(seconds: number): void;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(stats: () => ServerStats, prefix = "lifeline_"): Metrics {
  const registry = new Registry();

  const fromRecord = (
    name: string,
    help: string,
    label: string,
    pick: (s: ServerStats) => Readonly<Record<string, number>>,
  ): void => {
    new Counter({
      name: `${prefix}${name}`,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [key, value] of Object.entries(pick(stats()))) {
          this.inc({ [label]: key }, value);
        }
      },
    });
  };

  const fromValue = (
    kind: "gauge" | "counter",
    name: string,
    help: string,
    pick: (s: ServerStats) => number,
  ): void => {
    if (kind === "gauge") {
      new Gauge({
        name: `${prefix}${name}`,
        help,
        registers: [registry],
        collect() {
          this.set(pick(stats()));
        },
      });
      return;
    }
    new Counter({
      name: `${prefix}${name}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(pick(stats()));
      },
    });
  };

  fromValue("gauge", "connections", "Open WebSocket connections.", (s) => s.connections.active);
  fromValue(
    "counter",
    "connections_total",
    "WebSocket connections accepted.",
    (s) => s.connections.total,
  );
  fromRecord("messages_in_total", "Messages received, by type.", "type", (s) => s.messagesIn);
  fromRecord("messages_out_total", "Messages sent, by type.", "type", (s) => s.messagesOut);
  fromValue("counter", "bytes_in_total", "Payload bytes received.", (s) => s.bytesIn);
  fromValue("counter", "bytes_out_total", "Payload bytes sent.", (s) => s.bytesOut);
  fromRecord("errors_total", "Errors answered or raised, by code.", "code", (s) => s.errors);
  fromRecord("closes_total", "Closed connections, by close code.", "code", (s) => s.closes);
  fromRecord(
    "handshake_failures_total",
    "Refused handshakes, by reason.",
    "reason",
    (s) => s.handshakeFailures,
  );
  fromRecord(
    "limit_refusals_total",
    "Subscribes, requests, topics and handshakes refused by a resource limit, by limit.",
    "limit",
    (s) => s.limitRefusals,
  );
  fromValue("gauge", "buffered_bytes", "Bytes queued for sending.", (s) => s.bufferedBytes);
  fromValue("gauge", "topics", "Topics with at least one subscriber.", (s) => s.topics.active);
  fromValue(
    "counter",
    "slow_consumers_total",
    "Connections closed with 1013 for exceeding the send high-water mark.",
    (s) => s.slowConsumers,
  );
  const latency = new Histogram({
    name: `${prefix}broadcast_latency_seconds`,
    help: "Time to hand one broadcast to every local subscriber.",
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
    registers: [registry],
  });

  return {
    registry,
    observeBroadcast: (seconds) => latency.observe(seconds),
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
