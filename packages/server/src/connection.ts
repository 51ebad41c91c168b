import { type CloseCode, type ServerMessage, truncateCloseReason } from "@lifeline/protocol";
import { WebSocket } from "ws";
import type { PreparedMessage, SocketWriter } from "./fan-out.js";
import { prepareMessage } from "./fan-out.js";
import type { TokenBucket, ViolationCounter } from "./rate-limit.js";
import type { Counters } from "./stats.js";
import { bump } from "./stats.js";

const pingMessage = prepareMessage('{"type":"ping"}');

/** Figures kept per connection, shown by the status endpoint and logged at close. */
export interface ConnectionCounters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
}

/** A read-only view of a live connection, for the application and the status endpoint. */
export interface ConnectionInfo<Principal = unknown> {
  readonly id: string;
  readonly clientId: string;
  readonly role: string;
  readonly principal: Principal;
  readonly remoteAddress: string;
  readonly userAgent: string | undefined;
  /** Milliseconds since the Unix epoch. */
  readonly connectedAt: number;
  readonly lastActivityAt: number;
  readonly counters: Readonly<ConnectionCounters>;
  readonly subscriptions: ReadonlySet<string>;
}

export interface ConnectionInit {
  readonly id: string;
  readonly requestId: string;
  readonly clientId: string;
  readonly role: string;
  readonly principal: unknown;
  readonly identity: string;
  readonly remoteAddress: string;
  readonly userAgent: string | undefined;
  readonly connectedAt: number;
  readonly socket: WebSocket;
  readonly writer: SocketWriter;
  readonly counters: Counters;
  readonly highWaterMark: number;
  readonly bucket: TokenBucket;
  readonly violations: ViolationCounter;
  /** Called once when the connection exceeds the high-water mark. */
  readonly onSlowConsumer: (connection: Connection) => void;
}

/**
 * One live client connection. A class because identity matters (the registry, topics and
 * in-flight requests key on it) and because 10,000 of them share one prototype. The
 * principal is `unknown` here; the server's typed API casts it back at its edges.
 */
export class Connection implements ConnectionInfo {
  readonly id: string;
  readonly requestId: string;
  readonly clientId: string;
  readonly role: string;
  readonly principal: unknown;
  readonly identity: string;
  readonly remoteAddress: string;
  readonly userAgent: string | undefined;
  readonly connectedAt: number;
  readonly socket: WebSocket;
  readonly counters: ConnectionCounters = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    errors: 0,
  };
  readonly subscriptions = new Set<string>();
  readonly bucket: TokenBucket;
  readonly violations: ViolationCounter;
  lastActivityAt: number;
  /** Set once the server decided to close it: nothing more is sent. */
  closing = false;
  /** The close code the server sent, when it started the close. */
  closeCodeSent: number | undefined;
  /** Serialises subscribe/unsubscribe so their answers keep the order they were asked in. */
  topicOps: Promise<void> = Promise.resolve();
  /** In-flight requests, aborted when the connection closes. */
  readonly requests = new Set<AbortController>();
  private readonly writer: SocketWriter;
  private readonly totals: Counters;
  private readonly highWaterMark: number;
  private readonly onSlowConsumer: (connection: Connection) => void;
  private readonly disposers: (() => void)[] = [];

  constructor(init: ConnectionInit) {
    this.id = init.id;
    this.requestId = init.requestId;
    this.clientId = init.clientId;
    this.role = init.role;
    this.principal = init.principal;
    this.identity = init.identity;
    this.remoteAddress = init.remoteAddress;
    this.userAgent = init.userAgent;
    this.connectedAt = init.connectedAt;
    this.lastActivityAt = init.connectedAt;
    this.socket = init.socket;
    this.writer = init.writer;
    this.totals = init.counters;
    this.highWaterMark = init.highWaterMark;
    this.bucket = init.bucket;
    this.violations = init.violations;
    this.onSlowConsumer = init.onSlowConsumer;
  }

  /** Serialises and sends one message to this connection only. */
  send(message: ServerMessage): boolean {
    if (this.closing) return false;
    return this.sendPrepared(prepareMessage(JSON.stringify(message)), message.type);
  }

  /** Sends an already prepared message and counts it in the server's totals. */
  sendPrepared(message: PreparedMessage, type: string): boolean {
    if (!this.deliver(message)) return false;
    bump(this.totals.messagesOut, type);
    this.totals.bytesOut += message.bytes;
    return true;
  }

  /**
   * Sends a prepared message counting it for this connection only: a broadcast shares one
   * prepared message across recipients and adds to the server's totals once.
   */
  deliver(message: PreparedMessage): boolean {
    if (this.closing) return false;
    if (!this.writer.write(this.socket, message)) return false;
    this.counters.messagesOut += 1;
    this.counters.bytesOut += message.bytes;
    if (this.socket.bufferedAmount > this.highWaterMark) {
      this.closing = true;
      this.onSlowConsumer(this);
    }
    return true;
  }

  /** Sends a ping frame and an app-level ping (DESIGN.md, "Liveness"). */
  ping(): void {
    if (this.closing || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.ping();
    this.sendPrepared(pingMessage, "ping");
  }

  /** Starts the close handshake with `code`; the reason is cut to 123 bytes (RFC 6455 5.5). */
  close(code: CloseCode, reason: string): void {
    this.closing = true;
    this.closeCodeSent ??= code;
    if (
      this.socket.readyState === WebSocket.OPEN ||
      this.socket.readyState === WebSocket.CONNECTING
    ) {
      this.socket.close(code, truncateCloseReason(reason));
    }
  }

  terminate(): void {
    this.closing = true;
    this.socket.terminate();
  }

  /** Registers cleanup run once when the connection ends. */
  onDispose(dispose: () => void): void {
    this.disposers.push(dispose);
  }

  dispose(): void {
    const disposers = this.disposers.splice(0);
    for (const dispose of disposers) {
      try {
        dispose();
      } catch {
        // Cleanup of one resource must not skip the others.
      }
    }
    for (const controller of this.requests) controller.abort(new Error("connection closed"));
    this.requests.clear();
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
      buffered_bytes: this.socket.bufferedAmount,
      subscriptions: [...this.subscriptions],
    };
  }
}
