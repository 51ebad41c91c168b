/**
 * The server's figures, kept as plain numbers on the hot path (a broadcast to 1,000
 * clients adds 1,000 to one field, not 1,000 labelled counter increments). `/metrics`
 * and `server.stats()` both read them.
 */
/** Connections of one wire: transport and codec (PROTOCOL.md, "Transport and framing"). */
export interface WireCount {
  readonly transport: string;
  readonly codec: string;
  /** Open now. */
  active: number;
  /** Accepted since start. */
  total: number;
}

export interface Counters {
  connectionsAccepted: number;
  /** By `transport/codec`. */
  wires: Record<string, WireCount>;
  messagesIn: Record<string, number>;
  messagesOut: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  errors: Record<string, number>;
  closes: Record<string, number>;
  handshakeFailures: Record<string, number>;
  /** Refusals by the limit that made them (`maxSubscriptionsPerConnection`, ...). */
  limitRefusals: Record<string, number>;
  broadcasts: number;
  broadcastDeliveries: number;
  /** Deliveries to one subscriber that failed (counted per recipient, like deliveries). */
  broadcastFailures: number;
  slowConsumers: number;
  /** Times a conflated subscription fell behind and caught up from the latest per key. */
  conflatedCatchUps: number;
}

export function createCounters(): Counters {
  return {
    connectionsAccepted: 0,
    wires: {},
    messagesIn: {},
    messagesOut: {},
    bytesIn: 0,
    bytesOut: 0,
    errors: {},
    closes: {},
    handshakeFailures: {},
    limitRefusals: {},
    broadcasts: 0,
    broadcastDeliveries: 0,
    broadcastFailures: 0,
    slowConsumers: 0,
    conflatedCatchUps: 0,
  };
}

/** The count of the wire `transport`/`codec`, made on its first connection. */
export function wireCount(counters: Counters, transport: string, codec: string): WireCount {
  const key = `${transport}/${codec}`;
  let count = counters.wires[key];
  if (count === undefined) {
    count = { transport, codec, active: 0, total: 0 };
    counters.wires[key] = count;
  }
  return count;
}

export function bump(record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

/** What `server.stats()` returns. */
export interface ServerStats {
  /** Milliseconds since the server started. */
  readonly uptimeMs: number;
  /** Open, accepted and pending connections. */
  readonly connections: {
    readonly active: number;
    /** Accepted since start. */
    readonly total: number;
    /** Upgrades in progress (counted against the connection limits). */
    readonly pending: number;
    /** Open and accepted connections of each wire that had one (transport and codec). */
    readonly byWire: readonly Readonly<WireCount>[];
  };
  /** Topics with a subscriber on this server, and subscriptions. */
  readonly topics: { readonly active: number; readonly subscriptions: number };
  /** Messages received, by type. */
  readonly messagesIn: Readonly<Record<string, number>>;
  /** Messages sent, by type. */
  readonly messagesOut: Readonly<Record<string, number>>;
  /** Bytes received. */
  readonly bytesIn: number;
  /** Bytes sent. */
  readonly bytesOut: number;
  /** Errors answered, by error code. */
  readonly errors: Readonly<Record<string, number>>;
  /** Closes by close code. */
  readonly closes: Readonly<Record<string, number>>;
  /** Refused handshakes by reason (origin, limits, bad_version, unauthenticated, ...). */
  readonly handshakeFailures: Readonly<Record<string, number>>;
  /** Refusals by the limit that made them, named as its option (`maxTopics`, ...). */
  readonly limitRefusals: Readonly<Record<string, number>>;
  /** Broadcasts handed to local subscribers, deliveries, and failed deliveries. */
  readonly broadcasts: {
    readonly count: number;
    readonly deliveries: number;
    /** Deliveries to a subscriber whose socket refused the write. */
    readonly failures: number;
  };
  /** Bytes queued for sending over every connection. */
  readonly bufferedBytes: number;
  /** Connections closed 1013 for consuming too slowly. */
  readonly slowConsumers: number;
  /** Times a conflated subscription fell behind (and was not closed for it). */
  readonly conflatedCatchUps: number;
  /** The broker's health. */
  readonly broker: { readonly healthy: boolean; readonly detail?: string };
  /** True once `close()` began. */
  readonly closing: boolean;
}
