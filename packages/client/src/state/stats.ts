import type { CodecName } from "../transport/codec.js";
import type { TransportName } from "../transport/transport.js";
import type { ConnectionStatus, ErrorClass } from "./machine.js";
import type { ClientState } from "./store.js";

/** One connection attempt, as kept in `stats().recentAttempts`. */
export interface AttemptRecord {
  /** Wall-clock start (ms since epoch). */
  readonly at: number;
  /** The URL used, token redacted. */
  readonly url?: string;
  /** `open` once `hello` arrived; otherwise how it failed. */
  readonly outcome: "open" | "failed" | "pending";
  /** The class of failure, when it failed. */
  readonly errorClass?: ErrorClass;
  /** The close code, when the socket closed. */
  readonly code?: number;
  /** The close reason, or what the client observed. */
  readonly reason?: string;
  /** How long the attempt took until open or failure. */
  readonly durationMs?: number;
  /** The wire it used. */
  readonly transport?: TransportName;
}

/** `client.stats()`: what a diagnostics panel shows. */
export interface ClientStats {
  /** The current state's name. */
  readonly state: ConnectionStatus;
  /** The `client_id` the client connects with. */
  readonly clientId: string;
  /** Retries since the connection was last healthy. */
  readonly attempt: number;
  /** Attempts started since creation. */
  readonly attemptsTotal: number;
  /** Connections that reached `open`. */
  readonly successfulConnections: number;
  /** Milliseconds the current connection has been open; 0 when not open. */
  readonly uptimeMs: number;
  /** The server's id of the current connection (from `hello`). */
  readonly connectionId?: string;
  /** Messages sent, by type. */
  readonly sent: Readonly<Record<string, number>>;
  /** Messages received, by type. */
  readonly received: Readonly<Record<string, number>>;
  /** Heartbeat `ping`s received from the server and probe `ping`s sent. */
  readonly heartbeats: { readonly received: number; readonly probesSent: number };
  /** Wall-clock time of the latest frame from the server. */
  readonly lastActivityAt?: number;
  /** Messages waiting in the outbox. */
  readonly queueSize: number;
  /** Requests waiting for their response. */
  readonly pendingRequests: number;
  /** Publishes waiting for their acknowledgement. */
  readonly pendingPublishes: number;
  /** Messages dropped because their offset had been delivered already. */
  readonly duplicatesDropped: number;
  /** Gaps reported (history that could not be replayed). */
  readonly gaps: number;
  /** The last 10 attempts, newest last. */
  readonly recentAttempts: readonly AttemptRecord[];
  /** `features` from the latest `hello`. */
  readonly serverFeatures: readonly string[];
  /** `heartbeat_interval_ms` from the latest `hello`. */
  readonly heartbeatIntervalMs?: number;
  /**
   * The latest round trip to the server, in milliseconds: a `ping` answered by `pong`,
   * from `ping()` or the watchdog's probes. Absent until one was measured.
   */
  readonly roundTripMs?: number;
  /** The URL in use (token redacted). */
  readonly url?: string;
  /** The wire of the latest attempt: `websocket`, or `sse` (the HTTP fallback). */
  readonly transport?: TransportName;
  /** The encoding of the latest connection, as the server agreed: `json` or `msgpack`. */
  readonly codec?: CodecName;
  /** Background probes of the preferred wire while on a fallback, and how they ended. */
  readonly probes: { readonly started: number; readonly failed: number };
}

const RECENT_ATTEMPTS = 10;

/** Counters behind `stats()`; cheap to update on every frame. */
export class StatsRecorder {
  attemptsTotal = 0;
  successfulConnections = 0;
  openedAt: number | undefined;
  connectionId: string | undefined;
  heartbeatsReceived = 0;
  probesSent = 0;
  lastActivityAt: number | undefined;
  duplicatesDropped = 0;
  gaps = 0;
  serverFeatures: readonly string[] = [];
  heartbeatIntervalMs: number | undefined;
  url: string | undefined;
  transport: TransportName | undefined;
  codec: CodecName | undefined;
  probesStarted = 0;
  probesFailed = 0;
  readonly sent: Record<string, number> = {};
  readonly received: Record<string, number> = {};
  private attempts: AttemptRecord[] = [];

  countSent(type: string): void {
    this.sent[type] = (this.sent[type] ?? 0) + 1;
  }

  countReceived(type: string): void {
    this.received[type] = (this.received[type] ?? 0) + 1;
  }

  attemptStarted(at: number, transport?: TransportName): void {
    this.attemptsTotal += 1;
    this.attempts.push({ at, outcome: "pending", ...(transport ? { transport } : {}) });
    if (this.attempts.length > RECENT_ATTEMPTS) this.attempts.shift();
  }

  /** Completes the newest attempt record. */
  attemptEnded(update: Omit<AttemptRecord, "at">): void {
    const last = this.attempts.at(-1);
    if (last?.outcome !== "pending") return;
    this.attempts[this.attempts.length - 1] = {
      at: last.at,
      ...(last.transport ? { transport: last.transport } : {}),
      ...update,
    };
  }

  recentAttempts(): readonly AttemptRecord[] {
    return [...this.attempts];
  }

  /** The public `stats()` value, built from the counters and what the client passes in. */
  snapshot(current: {
    readonly snapshot: ClientState;
    readonly clientId: string;
    readonly now: number;
    readonly queueSize: number;
    readonly pendingRequests: number;
    readonly pendingPublishes: number;
    readonly roundTripMs: number | undefined;
  }): ClientStats {
    return {
      state: current.snapshot.state,
      clientId: current.clientId,
      attempt: current.snapshot.attempt,
      attemptsTotal: this.attemptsTotal,
      successfulConnections: this.successfulConnections,
      uptimeMs: this.openedAt === undefined ? 0 : current.now - this.openedAt,
      ...(this.connectionId === undefined ? {} : { connectionId: this.connectionId }),
      sent: { ...this.sent },
      received: { ...this.received },
      heartbeats: { received: this.heartbeatsReceived, probesSent: this.probesSent },
      ...(this.lastActivityAt === undefined ? {} : { lastActivityAt: this.lastActivityAt }),
      queueSize: current.queueSize,
      pendingRequests: current.pendingRequests,
      pendingPublishes: current.pendingPublishes,
      duplicatesDropped: this.duplicatesDropped,
      gaps: this.gaps,
      recentAttempts: this.recentAttempts(),
      serverFeatures: this.serverFeatures,
      ...(this.heartbeatIntervalMs === undefined
        ? {}
        : { heartbeatIntervalMs: this.heartbeatIntervalMs }),
      ...(current.roundTripMs === undefined ? {} : { roundTripMs: current.roundTripMs }),
      ...(this.url === undefined ? {} : { url: this.url }),
      ...(this.transport === undefined ? {} : { transport: this.transport }),
      ...(this.codec === undefined ? {} : { codec: this.codec }),
      probes: { started: this.probesStarted, failed: this.probesFailed },
    };
  }
}
