import {
  type CloseCode,
  INBOX_TOPIC,
  type ServerMessage,
  truncateCloseReason,
} from "@lifeline/protocol";
import type { HeartbeatTarget } from "./heartbeat.js";
import { inboxTopic } from "./inbox.js";
import type { PublishLanes } from "./publish-lanes.js";
import { TokenBucket, ViolationCounter } from "./rate-limit.js";
import { bump, type Counters } from "./stats.js";
import {
  PreparedMessage,
  prepareHeartbeat,
  type Transport,
  type WriteTarget,
} from "./transport/index.js";

const heartbeat = prepareHeartbeat();
const appPing = prepareHeartbeat(false);
const noTopics: ReadonlySet<string> = new Set();

/** Figures kept per connection, shown by the status endpoint and logged at close. */
export interface ConnectionCounters {
  /** Messages received from the client. */
  messagesIn: number;
  /** Messages sent to the client. */
  messagesOut: number;
  /** Bytes received from the client. */
  bytesIn: number;
  /** Bytes sent to the client. */
  bytesOut: number;
  /** Invalid messages answered with an error, socket errors and failed deliveries. */
  errors: number;
}

/** A read-only view of a live connection, for the application and the status endpoint. */
export interface ConnectionInfo<Principal = unknown> {
  /** The connection's id, as sent in `hello.connection_id`. */
  readonly id: string;
  /** The client's `client_id`, stable across its reconnects. */
  readonly clientId: string;
  /** The role the client connected with (what it said, unless `authenticate` checked it). */
  readonly role: string;
  /** What `authenticate` returned (`undefined` without the hook). */
  readonly principal: Principal;
  /** The client's address (from `X-Forwarded-For` behind a trusted proxy). */
  readonly remoteAddress: string;
  /** The upgrade request's `User-Agent`, when it had one. */
  readonly userAgent: string | undefined;
  /** Milliseconds since the Unix epoch. */
  readonly connectedAt: number;
  /** Milliseconds since the Unix epoch of the latest frame from the client. */
  readonly lastActivityAt: number;
  /** The connection's counters. */
  readonly counters: Readonly<ConnectionCounters>;
  /** The topics it is subscribed to. */
  readonly subscriptions: ReadonlySet<string>;
}

/** What every connection of one server shares (one object, not four fields each). */
export interface ConnectionEnv {
  readonly counters: Counters;
  readonly highWaterMark: number;
  /** Called once when a connection exceeds the high-water mark. */
  readonly onSlowConsumer: (connection: Connection) => void;
}

export interface ConnectionInit {
  readonly id: string;
  readonly clientId: string;
  readonly role: string;
  readonly principal: unknown;
  readonly identity: string;
  readonly remoteAddress: string;
  readonly userAgent: string | undefined;
  readonly connectedAt: number;
  /** The wire's socket, opaque to everything but its transport. */
  readonly socket: unknown;
  readonly transport: Transport;
  readonly env: ConnectionEnv;
  readonly limits: ConnectionLimits;
}

/** Something a closing connection cancels (an in-flight request). */
export interface Abortable {
  abort(reason: unknown): void;
}

/** Rate and abuse limits, shared by every connection of a server. */
export interface ConnectionLimits {
  readonly perSecond: number;
  readonly burst: number;
  readonly maxViolations: number;
  readonly violationWindowMs: number;
}

/**
 * The parts of a connection most never use (abuse, requests, publishing, expiring
 * credentials, cleanup, a close's details), made together on first use: an idle connection
 * holds one field for them instead of nine (docs/performance.md, "Memory per idle
 * connection").
 */
class Occasional {
  closeCodeSent: number | undefined = undefined;
  lastError: Error | undefined = undefined;
  publishLanes: PublishLanes | undefined = undefined;
  expiresAt: number | undefined = undefined;
  stopExpiry: (() => void) | undefined = undefined;
  inboxName: string | undefined = undefined;
  /** In-flight requests, aborted when the connection closes. */
  requests: Set<Abortable> | undefined = undefined;
  disposers: (() => void)[] | undefined = undefined;
  violations: ViolationCounter | undefined = undefined;
}

/**
 * One live client connection. A class because identity matters (the registry, topics and
 * in-flight requests key on it) and because 10,000 of them share one prototype: rarely
 * used parts (requests, cleanup, topic operations) are allocated on first use. The
 * principal is `unknown` here; the server's typed API casts it back at its edges.
 */
export class Connection implements ConnectionInfo, HeartbeatTarget, WriteTarget {
  readonly id: string;
  readonly clientId: string;
  readonly role: string;
  /** Replaced by a refresh (same identity, new credentials). */
  principal: unknown;
  readonly identity: string;
  readonly remoteAddress: string;
  readonly userAgent: string | undefined;
  readonly connectedAt: number;
  /** The wire's socket, opaque to everything but `transport`. */
  readonly socket: unknown;
  /** How this connection's wire is driven: shared by every connection on the same wire. */
  readonly transport: Transport;
  readonly counters: ConnectionCounters = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    errors: 0,
  };
  private topicSet: Set<string> | undefined;
  lastActivityAt: number;
  nextPingAt = 0;
  heartbeatIndex = -1;
  /**
   * The peer has answered an application ping with `pong`: its pongs prove it alive, so
   * its heartbeats leave out the ping frame (PROTOCOL.md, "Liveness").
   */
  answersPings = false;
  pendingFrames: Buffer[] | undefined;
  pendingBytes = 0;
  writtenTick = 0;
  /** Set once the server decided to close it: nothing more is sent. */
  closing = false;
  /** Serialises subscribe/unsubscribe so their answers keep the order they were asked in. */
  private topicOps: Promise<void> | undefined;
  // Created on first use: an idle connection never needs it.
  private bucket: TokenBucket | undefined;
  /** What most connections never need, made on first use (`occasional()`). */
  private rare: Occasional | undefined;
  private readonly env: ConnectionEnv;
  private readonly limits: ConnectionLimits;

  constructor(init: ConnectionInit) {
    this.id = init.id;
    this.clientId = init.clientId;
    this.role = init.role;
    this.principal = init.principal;
    this.identity = init.identity;
    this.remoteAddress = init.remoteAddress;
    this.userAgent = init.userAgent;
    this.connectedAt = init.connectedAt;
    this.lastActivityAt = init.connectedAt;
    this.socket = init.socket;
    this.transport = init.transport;
    this.env = init.env;
    this.limits = init.limits;
  }

  /** The close code the server sent, when it started the close. */
  get closeCodeSent(): number | undefined {
    return this.rare?.closeCodeSent;
  }
  set closeCodeSent(code: number | undefined) {
    if (code !== undefined || this.rare) this.occasional().closeCodeSent = code;
  }

  /** The last socket error, reported with the close. */
  get lastError(): Error | undefined {
    return this.rare?.lastError;
  }
  set lastError(error: Error | undefined) {
    if (error !== undefined || this.rare) this.occasional().lastError = error;
  }

  /** Keeps each topic's publishes in arrival order (PROTOCOL.md, "Publish order"). */
  get publishLanes(): PublishLanes | undefined {
    return this.rare?.publishLanes;
  }
  set publishLanes(lanes: PublishLanes | undefined) {
    if (lanes !== undefined || this.rare) this.occasional().publishLanes = lanes;
  }

  /** When the credentials expire (ms since the Unix epoch); undefined for never. */
  get expiresAt(): number | undefined {
    return this.rare?.expiresAt;
  }
  set expiresAt(at: number | undefined) {
    if (at !== undefined || this.rare) this.occasional().expiresAt = at;
  }

  /** Stops the `token_expiring` and expiry timers of the current credentials. */
  get stopExpiry(): (() => void) | undefined {
    return this.rare?.stopExpiry;
  }
  set stopExpiry(stop: (() => void) | undefined) {
    if (stop !== undefined || this.rare) this.occasional().stopExpiry = stop;
  }

  private occasional(): Occasional {
    this.rare ??= new Occasional();
    return this.rare;
  }

  /** Takes a token from the rate limit; false when the connection is over it. */
  takeToken(nowMs: number): boolean {
    // A bucket made now starts full, as one made at connect time would be by now.
    this.bucket ??= new TokenBucket(this.limits.perSecond, this.limits.burst, nowMs);
    return this.bucket.take(nowMs);
  }

  /** Records an invalid or excess message; true once they amount to abuse (close 1008). */
  recordViolation(nowMs: number): boolean {
    const rare = this.occasional();
    rare.violations ??= new ViolationCounter(
      this.limits.maxViolations,
      this.limits.violationWindowMs,
    );
    return rare.violations.record(nowMs);
  }

  /**
   * Encodes (in this connection's codec) and sends one message to this connection only.
   * Throws when the message cannot be encoded (a BigInt, a cycle).
   */
  send(message: ServerMessage): boolean {
    if (this.closing) return false;
    return this.sendPrepared(new PreparedMessage(message), message.type);
  }

  /** Sends an already prepared message and counts it in the server's totals. */
  sendPrepared(message: PreparedMessage, type: string): boolean {
    const bytes = this.deliver(message);
    if (bytes < 0) return false;
    bump(this.env.counters.messagesOut, type);
    this.env.counters.bytesOut += bytes;
    return true;
  }

  /**
   * Sends a prepared message counting it for this connection only: a broadcast shares one
   * prepared message across recipients and adds to the server's totals once. Returns the
   * payload bytes sent, or -1 when nothing was sent (closing or closed).
   */
  deliver(message: PreparedMessage): number {
    if (this.closing) return -1;
    const transport = this.transport;
    const bytes = transport.write(this, message);
    if (bytes < 0) return -1;
    this.counters.messagesOut += 1;
    this.counters.bytesOut += bytes;
    if (transport.buffered(this) > this.env.highWaterMark) {
      this.closing = true;
      this.env.onSlowConsumer(this);
    }
    return bytes;
  }

  /** Bytes queued for this connection: in the writer, in the library and in the socket. */
  get bufferedBytes(): number {
    return this.transport.buffered(this);
  }

  /** Calls `callback` whenever the wire reports its queue drained; returns the undo. */
  onDrain(callback: () => void): () => void {
    return this.transport.onDrain(this, callback);
  }

  /**
   * Sends the heartbeat (PROTOCOL.md, "Liveness"): a ping frame and an app-level ping, or
   * the app ping alone once the peer answers those itself. A client that answers both
   * sends two frames per interval, and reading the second one is most of what an idle
   * connection costs the server.
   */
  ping(): void {
    if (this.closing || !this.transport.isOpen(this)) return;
    this.sendPrepared(this.answersPings ? appPing : heartbeat, "ping");
  }

  /** The broker topic behind this connection's `@inbox` (PROTOCOL.md, "Direct messages"). */
  get inbox(): string {
    const rare = this.occasional();
    rare.inboxName ??= inboxTopic(this.identity, this.clientId);
    return rare.inboxName;
  }

  /** Topics this connection is subscribed to. */
  get subscriptions(): ReadonlySet<string> {
    return this.topicSet ?? noTopics;
  }

  addSubscription(topic: string): void {
    this.topicSet ??= new Set();
    this.topicSet.add(topic);
  }

  removeSubscription(topic: string): void {
    this.topicSet?.delete(topic);
  }

  /** Runs `operation` after every earlier topic operation of this connection. */
  queueTopicOp(operation: () => Promise<void>): void {
    // The chain must survive a failed operation, or every later one would be skipped.
    this.topicOps = (this.topicOps ?? Promise.resolve()).then(operation).catch(() => {});
  }

  /** Requests whose handler has not answered yet. */
  get pendingRequests(): number {
    return this.rare?.requests?.size ?? 0;
  }

  /** Tracks an in-flight request; returns its release. */
  track(request: Abortable): () => void {
    const rare = this.occasional();
    rare.requests ??= new Set();
    const requests = rare.requests;
    requests.add(request);
    return () => {
      requests.delete(request);
    };
  }

  /** Starts the close handshake with `code`; the reason is cut to 123 bytes (RFC 6455 5.5). */
  close(code: CloseCode, reason: string): void {
    this.closing = true;
    this.closeCodeSent ??= code;
    this.transport.close(this, code, truncateCloseReason(reason));
  }

  terminate(): void {
    this.closing = true;
    this.transport.terminate(this);
  }

  /** Registers cleanup run once when the connection ends. */
  onDispose(dispose: () => void): void {
    const rare = this.occasional();
    rare.disposers ??= [];
    rare.disposers.push(dispose);
  }

  dispose(): void {
    const rare = this.rare;
    if (rare === undefined) return;
    rare.stopExpiry?.();
    rare.stopExpiry = undefined;
    const disposers = rare.disposers ?? [];
    rare.disposers = undefined;
    for (const dispose of disposers) {
      try {
        dispose();
      } catch {
        // Cleanup of one resource must not skip the others.
      }
    }
    if (rare.requests) {
      for (const controller of rare.requests) controller.abort(new Error("connection closed"));
      rare.requests = undefined;
    }
  }

  /** A JSON-friendly snapshot, with nothing secret in it (no token, no headers). */
  describe(): Record<string, unknown> {
    return {
      connection_id: this.id,
      client_id: this.clientId,
      role: this.role,
      identity: this.identity,
      remote_address: this.remoteAddress,
      user_agent: this.userAgent ?? null,
      connected_at: new Date(this.connectedAt).toISOString(),
      last_activity_at: new Date(this.lastActivityAt).toISOString(),
      messages_in: this.counters.messagesIn,
      messages_out: this.counters.messagesOut,
      bytes_in: this.counters.bytesIn,
      bytes_out: this.counters.bytesOut,
      errors: this.counters.errors,
      transport: this.transport.name,
      codec: this.transport.codec,
      buffered_bytes: this.transport.buffered(this),
      subscriptions: [...this.subscriptions].map((topic) =>
        topic === this.rare?.inboxName ? INBOX_TOPIC : topic,
      ),
    };
  }
}
