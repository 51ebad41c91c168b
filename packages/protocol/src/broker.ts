/**
 * The broker owns every topic's log: it assigns offsets, keeps bounded history and fans
 * messages out to every subscriber, on this node and (for distributed brokers) on others.
 * A `@lifeline/server` core only talks to this interface; `createMemoryBroker()` is its
 * in-process default and `@lifeline/redis` implements it on Redis. The interface lives in
 * this package, beside the offsets and epochs it hands out (PROTOCOL.md, "Delivery and recovery"), so a
 * broker implementation depends on these types alone and not on the server.
 */

/** One appended message of a topic's log. */
export interface LogEntry {
  /** The topic the entry was appended to. */
  readonly topic: string;
  /** Rises by exactly one per appended message within an epoch; the first is 1. */
  readonly offset: number;
  /** Changes whenever the topic's history is lost (for example a restarted memory broker). */
  readonly epoch: string;
  /** The published data, any JSON value. */
  readonly data: unknown;
  /** Milliseconds since the Unix epoch when the entry was appended. */
  readonly ts: number;
}

/** Where a topic's log stands. `offset` is the latest appended offset, 0 for none yet. */
export interface TopicHead {
  /** The latest appended offset, 0 for none yet. */
  readonly offset: number;
  /** The topic's current epoch. */
  readonly epoch: string;
}

/** How an append is deduplicated: by the publisher's id, within a window. */
export interface AppendOptions {
  /**
   * Idempotency key (the server uses `<client_id>:<id>` for client publishes). An append
   * with a key seen within the broker's dedupe window is not appended again: the first
   * append's result is returned with `duplicate: true`.
   */
  readonly dedupeKey?: string;
  /**
   * Also keep this entry as the latest of `conflate.key` in the topic's latest-per-key
   * table (PROTOCOL.md, "Conflation"), which `latest()` reads. Needs a broker with `latest`.
   */
  readonly conflate?: ConflateEntry;
}

/** What a conflated append leaves in the topic's latest-per-key table. */
export interface ConflateEntry {
  /** The key this entry is the latest of. */
  readonly key: string;
  /**
   * What the table keeps for the key, when it differs from the appended data: a delta's
   * merged full state, so a reader of the table needs no earlier message.
   * @default the appended data
   */
  readonly value?: unknown;
}

/** What `latest()` found: the latest entry of each key, oldest first. */
export interface LatestRead {
  /** The topic's current epoch; every entry belongs to it. */
  readonly epoch: string;
  /** The topic's latest offset when the table was read. */
  readonly head: number;
  /**
   * One entry per key (its data is the table's value), in offset order; only entries of
   * the current epoch (a table outlives nothing the log does not).
   */
  readonly entries: readonly LogEntry[];
}

/** Which part of the latest-per-key table to read. */
export interface LatestQuery {
  /** Only keys whose latest entry has an offset greater than this. @default 0 */
  readonly after?: number;
  /** At most this many keys, the most recently updated. @default every key */
  readonly limit?: number;
}

/**
 * Where an append landed; `duplicate` when the id was seen within the window and nothing was
 * appended.
 */
export interface AppendResult {
  /** The offset the data was appended at (the first append's, for a duplicate). */
  readonly offset: number;
  /** The epoch of that offset. */
  readonly epoch: string;
  /** Milliseconds since the Unix epoch when it was appended. */
  readonly ts: number;
  /** True when the dedupe key was seen within the window: nothing was appended. */
  readonly duplicate: boolean;
}

/** What `readSince` found in the retained history. */
export interface HistoryRead {
  /** The topic's current epoch. */
  readonly epoch: string;
  /** Every retained entry with an offset greater than the one asked for, in order. */
  readonly entries: readonly LogEntry[];
  /**
   * True when `entries` starts right after the asked offset in the same epoch, so nothing
   * in between was lost; false when the epoch differs or the gap is no longer retained.
   */
  readonly complete: boolean;
  /** The latest offset when the read was made. */
  readonly head: number;
}

/** Called with each entry appended to a subscribed topic, in offset order. */
export type EntryListener = (entry: LogEntry) => void;

/** Whether a broker can append and deliver now, with a reason when it cannot. */
export interface BrokerHealth {
  /** True when the broker can append and deliver. */
  readonly healthy: boolean;
  /** Why it is unhealthy, for `/health` and logs. */
  readonly detail?: string;
}

/**
 * One connection in a `SessionDirectory`: who holds it, on which node. Nothing secret: no
 * token, no headers, no address.
 */
export interface SessionRecord {
  /** The connection's id, as in `hello.connection_id`. */
  readonly connectionId: string;
  /** The client's `client_id`. */
  readonly clientId: string;
  /** The principal's stable identity (the server's `identify`). */
  readonly user: string;
  /** The role the client connected with. */
  readonly role: string;
  /** The server node that holds the connection. */
  readonly node: string;
  /** Milliseconds since the Unix epoch. */
  readonly connectedAt: number;
}

/** Who a direct message or a disconnect is for: one client, or every client of a user. */
export type SessionTarget = { readonly clientId: string } | { readonly user: string };

/** An inbox a direct message goes to: the client and the identity it connected with. */
export interface InboxAddress {
  /** The identity the client connected with. */
  readonly user: string;
  /** The client's `client_id`. */
  readonly clientId: string;
}

/**
 * The sessions of every node: which connections are live, and which clients a direct
 * message should reach (PROTOCOL.md, "Direct messages"). A closed session stays a
 * recipient for a linger period, so a message sent while its client reconnects waits in
 * its inbox; a node that dies stops refreshing its sessions and they expire.
 */
export interface SessionDirectory {
  /** Records a live connection of this node. */
  add(session: SessionRecord): Promise<void>;
  /** The connection closed: no longer live, but still a recipient until the linger ends. */
  remove(session: SessionRecord): Promise<void>;
  /** The live sessions of `user` on every node. */
  live(user: string): Promise<SessionRecord[]>;
  /**
   * The inboxes a direct message to `target` goes to: for a user, each of its clients live
   * or closed within the linger; for a client, the identity it last connected with.
   */
  recipients(target: SessionTarget): Promise<InboxAddress[]>;
}

/** A command every node carries out on its own connections. */
export interface ControlCommand {
  /** What to do: close the target's connections. */
  readonly type: "disconnect";
  /** Whose connections: one client, or every client of a user. */
  readonly target: SessionTarget;
  /** The close code to close them with. */
  readonly code: number;
  /** The close reason. */
  readonly reason: string;
}

/** Delivers control commands to every node, this one included, once each. */
export interface ControlChannel {
  /** Sends `command` to every node, this one included. */
  publish(command: ControlCommand): Promise<void>;
  /** Returns the undo. */
  subscribe(listener: (command: ControlCommand) => void): () => void;
}

/**
 * Fan-out and history of topics for a server: the in-memory broker, `@lifeline/redis`, or your own.
 */
export interface Broker {
  /**
   * The session directory shared by every node using this broker. A broker without one
   * (the memory broker) leaves the server to keep its own sessions.
   */
  readonly sessions?: SessionDirectory;
  /** Control commands to every node; without it, commands reach this node's connections only. */
  readonly control?: ControlChannel;
  /** Appends `data` to `topic` and delivers it to every subscriber of the topic. */
  append(topic: string, data: unknown, options?: AppendOptions): Promise<AppendResult>;
  /**
   * Starts delivering entries appended to `topic` after this call to `listener`.
   * Resolves once delivery is live; the returned function stops it.
   */
  subscribe(topic: string, listener: EntryListener): Promise<() => Promise<void>>;
  /** Reads retained entries of `topic` with offsets greater than `afterOffset` in `epoch`. */
  readSince(topic: string, afterOffset: number, epoch: string | undefined): Promise<HistoryRead>;
  /** Where the topic's log stands now. */
  head(topic: string): Promise<TopicHead>;
  /**
   * Reads the topic's latest-per-key table, filled by appends made with `conflate`. A
   * broker without it cannot serve topics a contract declares conflated; both brokers of
   * this project have it.
   */
  latest?(topic: string, query?: LatestQuery): Promise<LatestRead>;
  /** Whether the broker can work now (reported by `/health`). */
  health(): BrokerHealth;
  /**
   * Presence shared by every node of the broker (PROTOCOL.md, "Presence"). A broker without
   * it serves one node only: the server then keeps presence in its own process.
   */
  readonly presence?: BrokerPresence;
  /**
   * Calls `listener` whenever `health()` changes; returns its undo. Optional: a server
   * watches a broker that has it and stops serving during a long outage (the server's
   * `brokerOutage` option); one without it is never considered down.
   */
  onHealthChange?(listener: (health: BrokerHealth) => void): () => void;
  /** Releases timers and connections. */
  close(): Promise<void>;
}

/** A member of a topic's presence as brokers keep it. */
export interface PresenceEntry {
  /** The member's client id: one member however many connections it has. */
  readonly clientId: string;
  /** The identity authentication gave the member (never a credential). */
  readonly user?: string | undefined;
  /** Milliseconds since the Unix epoch when the member joined. */
  readonly joinedAt: number;
}

/** Members that joined or left a topic's presence, in the order they did. */
export interface PresenceChange {
  /** The topic whose presence changed. */
  readonly topic: string;
  /** Members that joined. */
  readonly joins: readonly PresenceEntry[];
  /** Members that left. */
  readonly leaves: readonly PresenceEntry[];
}

/** Called with each batch of joins and leaves of a watched topic. */
export type PresenceListener = (change: PresenceChange) => void;

/** A watch on a topic's presence: its members when the watch began, then every change. */
export interface PresenceWatch {
  /** The members when the watch went live; every later change reaches the listener. */
  readonly members: readonly PresenceEntry[];
  /** Stops watching the topic. */
  stop(): Promise<void>;
}

/**
 * Who is subscribed to which topic, across nodes. A node holds a member while one of its
 * connections is subscribed; the member joins when the first node holds it and leaves when
 * the last releases it, or when the node holding it is found dead.
 */
export interface BrokerPresence {
  /** This node holds `entry.clientId` on `topic`; a no-op when it already does. */
  hold(topic: string, entry: PresenceEntry): Promise<void>;
  /** This node no longer holds `clientId` on `topic`; a no-op when it did not. */
  release(topic: string, clientId: string): Promise<void>;
  /** The topic's members now. */
  members(topic: string): Promise<PresenceEntry[]>;
  /**
   * Starts delivering the topic's changes to `listener`. Resolves once live, with the
   * members at that point: applying the changes that follow to them gives the members at
   * any later time. A broker that lost changes (a reconnect to its store) reports the
   * difference it found as one change.
   */
  watch(topic: string, listener: PresenceListener): Promise<PresenceWatch>;
}

/** History retention, applied per topic. */
export interface HistoryOptions {
  /**
   * Most messages kept per topic.
   * @default 1000
   */
  readonly maxMessages?: number;
  /**
   * Oldest message age kept, in milliseconds.
   * @default 300000
   */
  readonly maxAgeMs?: number;
  /**
   * Most keys kept in a conflated topic's latest-per-key table; past it the key updated
   * longest ago is forgotten. The table is not trimmed by age: a status that has not
   * changed for an hour is still the latest.
   * @default 10000
   */
  readonly maxConflatedKeys?: number;
}
