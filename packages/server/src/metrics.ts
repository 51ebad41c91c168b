import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { LifelineServerError, ServerErrorCode } from "./errors.js";
import type { ServerStats, WireCount } from "./stats.js";

/** Where the server's Prometheus metrics go. */
export interface MetricsOptions {
  /**
   * A prom-client registry to register the server's metrics in, typically the one the
   * application already serves, so one scrape returns both. The server's `/metrics` then
   * renders this whole registry. The metrics are removed from it on `close()`, so a server
   * restarted on the same registry registers them again. Two servers sharing a registry
   * need different `prefix`es (a name registered twice is refused at start).
   * @default a registry of the server's own (never prom-client's global one)
   */
  readonly registry?: Registry;
  /**
   * Prepended to every metric name, e.g. `lifeline_rpc_duration_seconds`.
   * @default "lifeline_"
   */
  readonly prefix?: string;
}

/**
 * Prometheus metrics. Counters are filled from `stats()` at scrape time; durations
 * (broadcast, request, connection lifetime) are observed as they happen.
 */
export interface Metrics {
  readonly registry: Registry;
  observeBroadcast(seconds: number): void;
  /** One answered request: `outcome` is `"ok"` or the error code it was answered with. */
  observeRequest(method: string, outcome: string, seconds: number): void;
  /** One closed connection, with the time since its handshake completed. */
  observeConnectionClosed(seconds: number): void;
  /** The Prometheus text exposition of the whole registry. */
  render(): Promise<string>;
  readonly contentType: string;
  /** Removes this server's metrics from the registry (the application's may outlive it). */
  unregister(): void;
}

/** Seconds; a request is usually sub-millisecond, a slow handler may run to the timeout. */
const REQUEST_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
/** Seconds, from a refused or flapping connection (1 s) to a wall display left on a day. */
const LIFETIME_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

export function createMetrics(stats: () => ServerStats, options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? new Registry();
  const prefix = options.prefix ?? "lifeline_";
  const registered: string[] = [];
  const unregister = (): void => {
    for (const name of registered) registry.removeSingleMetric(name);
    registered.length = 0;
  };
  /** Registers one metric; only names this server registered are ever removed. */
  const add = <M>(make: (name: string) => M, name: string): M => {
    const full = `${prefix}${name}`;
    const metric = make(full);
    registered.push(full);
    return metric;
  };

  const fromRecord = (
    name: string,
    help: string,
    label: string,
    pick: (s: ServerStats) => Readonly<Record<string, number>>,
  ): void => {
    add(
      (full) =>
        new Counter({
          name: full,
          help,
          labelNames: [label],
          registers: [registry],
          collect() {
            this.reset();
            for (const [key, value] of Object.entries(pick(stats()))) {
              this.inc({ [label]: key }, value);
            }
          },
        }),
      name,
    );
  };

  const fromValue = (
    kind: "gauge" | "counter",
    name: string,
    help: string,
    pick: (s: ServerStats) => number,
  ): void => {
    if (kind === "gauge") {
      add(
        (full) =>
          new Gauge({
            name: full,
            help,
            registers: [registry],
            collect() {
              this.set(pick(stats()));
            },
          }),
        name,
      );
      return;
    }
    add(
      (full) =>
        new Counter({
          name: full,
          help,
          registers: [registry],
          collect() {
            this.reset();
            this.inc(pick(stats()));
          },
        }),
      name,
    );
  };

  try {
    fromValue("gauge", "connections", "Open WebSocket connections.", (s) => s.connections.active);
    fromValue(
      "counter",
      "connections_total",
      "WebSocket connections accepted.",
      (s) => s.connections.total,
    );
    const byWire = (name: string, help: string, pick: (wire: WireCount) => number): void => {
      const kind = name.endsWith("_total") ? Counter : Gauge;
      add(
        (full) =>
          new kind({
            name: full,
            help,
            labelNames: ["transport", "codec"],
            registers: [registry],
            collect() {
              this.reset();
              for (const w of stats().connections.byWire) {
                const labels = { transport: w.transport, codec: w.codec };
                if (this instanceof Gauge) this.set(labels, pick(w));
                else this.inc(labels, pick(w));
              }
            },
          }),
        name,
      );
    };
    byWire(
      "transport_connections",
      "Open connections, by transport (websocket, sse) and codec (json, msgpack).",
      (w) => w.active,
    );
    byWire(
      "transport_connections_total",
      "Connections accepted, by transport and codec.",
      (w) => w.total,
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
    fromValue(
      "counter",
      "conflated_catch_ups_total",
      "Times a conflated subscription fell behind and caught up with the latest per key.",
      (s) => s.conflatedCatchUps,
    );
    fromValue(
      "counter",
      "broadcasts_total",
      "Broadcasts handed to local subscribers.",
      (s) => s.broadcasts.count,
    );
    fromValue(
      "counter",
      "broadcast_deliveries_total",
      "Messages handed to subscribers' sockets, one per recipient of each broadcast.",
      (s) => s.broadcasts.deliveries,
    );
    fromValue(
      "counter",
      "broadcast_failures_total",
      "Deliveries to a subscriber that failed (its socket refused the write).",
      (s) => s.broadcasts.failures,
    );
    const latency = add(
      (name) =>
        new Histogram({
          name,
          help: "Time to hand one broadcast to every local subscriber.",
          buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
          registers: [registry],
        }),
      "broadcast_latency_seconds",
    );
    const requests = add(
      (name) =>
        new Histogram({
          name,
          help: "Time from a request's arrival to its response, by method and outcome (ok or the error code).",
          labelNames: ["method", "outcome"],
          buckets: REQUEST_BUCKETS,
          registers: [registry],
        }),
      "rpc_duration_seconds",
    );
    const lifetimes = add(
      (name) =>
        new Histogram({
          name,
          help: "Lifetime of closed connections, from the accepted handshake to the close.",
          buckets: LIFETIME_BUCKETS,
          registers: [registry],
        }),
      "connection_duration_seconds",
    );
    return {
      registry,
      observeBroadcast: (seconds) => latency.observe(seconds),
      observeRequest: (method, outcome, seconds) => requests.observe({ method, outcome }, seconds),
      observeConnectionClosed: (seconds) => lifetimes.observe(seconds),
      render: () => registry.metrics(),
      contentType: registry.contentType,
      unregister,
    };
  } catch (error) {
    unregister();
    const reason = error instanceof Error ? error.message : String(error);
    throw new LifelineServerError(
      ServerErrorCode.InvalidOptions,
      `metrics could not be registered (${reason}); servers sharing a registry need different metrics.prefix values`,
      { cause: error },
    );
  }
}
