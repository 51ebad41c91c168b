import { CloseCode, ErrorCode } from "@lifeline/protocol";
import type { Admitted } from "./admission.js";
import { Connection, type ConnectionEnv } from "./connection.js";
import type { ServerContext } from "./context.js";
import { createHeartbeatMonitor } from "./heartbeat.js";
import { createHelloEncoder } from "./hello.js";
import { bump, wireCount } from "./stats.js";
import type { TransportSink } from "./transport/index.js";
import { prepareMessage } from "./transport/index.js";

/**
 * RFC 6455 7.4.1 codes that the WebSocket library sends on its own for broken frames; they
 * are not part of Lifeline's close-code table because the server never chooses them.
 */
const ProtocolErrorCode = 1002;
const InvalidPayloadCode = 1007;

/** Closes logged at warn: the peer vanished, misbehaved, or the server had to shed it. */
const unexpectedCloses = new Set<number>([
  CloseCode.Abnormal,
  CloseCode.PolicyViolation,
  CloseCode.MessageTooBig,
  CloseCode.InternalError,
  CloseCode.TryAgainLater,
  ProtocolErrorCode,
  InvalidPayloadCode,
]);

/** How long a slow consumer gets to take its close frame before it is terminated. */
const SLOW_CONSUMER_GRACE_MS = 1000;

export interface SessionDeps {
  readonly env: Omit<ConnectionEnv, "onSlowConsumer">;
  readonly onMessage: (connection: Connection, data: Buffer, isBinary: boolean) => void;
  readonly nextId: () => string;
  /** Called once a connection said hello (credentials armed, session recorded). */
  readonly onOpened: (connection: Connection) => void;
  /** Called once a connection closed and was cleaned up. */
  readonly onClosed: (connection: Connection) => void;
}

export interface Sessions<Principal> {
  /** Where every transport reports what happens on a connection's wire. */
  readonly sink: TransportSink<Connection>;
  /** Turns an admitted handshake into a live connection: registry, heartbeat, hello. */
  accept(admitted: Admitted<Principal>): void;
  /** Resolves once `connection` has closed and been cleaned up. */
  closed(connection: Connection): Promise<void>;
  /** Stops the heartbeat sweep (shutdown). */
  stop(): void;
}

/**
 * The life of a connection from `hello` to its close: registration, takeover of an older
 * session (4409), heartbeats, slow-consumer shedding (1013), and the close log line with
 * the connection's figures (info when clean, warn when abnormal).
 */
export function createSessions<Principal>(
  ctx: ServerContext<Principal>,
  deps: SessionDeps,
): Sessions<Principal> {
  const { opts, logger, counters, registry, topics } = ctx;
  const { clock, limits } = opts;
  const env: ConnectionEnv = { ...deps.env, onSlowConsumer };
  const encodeHello = createHelloEncoder({
    features: opts.features,
    heartbeatIntervalMs: opts.heartbeat.intervalMs,
  });
  const connectionLimits = {
    perSecond: limits.rate.perSecond,
    burst: limits.rate.burst,
    maxViolations: limits.abuse.maxViolations,
    violationWindowMs: limits.abuse.windowMs,
  };

  const heartbeat = createHeartbeatMonitor<Connection>({
    clock,
    intervalMs: opts.heartbeat.intervalMs,
    timeoutMs: opts.heartbeat.timeoutMs,
    ping: (connection) => connection.ping(),
    expire: (connection, silentMs) => {
      logger.warn(
        {
          connection_id: connection.id,
          client_id: connection.clientId,
          transport: connection.transport.name,
          silent_ms: silentMs,
        },
        "heartbeat timeout: terminating silent connection",
      );
      bump(counters.errors, ErrorCode.Timeout);
      connection.terminate();
    },
  });

  const sink: TransportSink<Connection> = {
    message: deps.onMessage,
    activity(connection) {
      connection.lastActivityAt = clock.now();
    },
    error(connection, error, closeCode) {
      connection.lastError = error;
      // The wire may close by itself on a protocol error (1009 for an oversized frame).
      if (closeCode !== undefined) connection.closeCodeSent ??= closeCode;
      connection.counters.errors += 1;
      bump(counters.errors, (error as { code?: string }).code ?? "socket");
    },
    closed: onClosed,
  };

  function accept(admitted: Admitted<Principal>): void {
    const { query, requestId } = admitted;
    const now = clock.now();
    const connection = new Connection({
      id: deps.nextId(),
      clientId: query.clientId,
      role: query.role,
      principal: admitted.principal,
      identity: admitted.identity,
      remoteAddress: admitted.remoteAddress,
      userAgent: admitted.userAgent,
      connectedAt: now,
      socket: admitted.socket,
      transport: admitted.transport,
      env,
      limits: connectionLimits,
    });
    admitted.attach(connection);
    registry.add(connection);
    counters.connectionsAccepted += 1;
    const wire = wireCount(counters, connection.transport.name, connection.transport.codec);
    wire.active += 1;
    wire.total += 1;
    const { replaced } = admitted;
    if (replaced) {
      logger.debug(
        { connection_id: replaced.id, client_id: replaced.clientId, replaced_by: connection.id },
        "session replaced by a newer connection",
      );
      replaced.close(CloseCode.SessionReplaced, "session replaced by a newer connection");
    }
    heartbeat.add(connection);
    connection.sendPrepared(
      prepareMessage(
        encodeHello({
          clientId: query.clientId,
          connectionId: connection.id,
          requestId,
          nowMs: now,
          sseKey: admitted.sseKey,
        }),
      ),
      "hello",
    );
    // Connections come and go at debug: a library's routine is not the application's news.
    if (logger.isLevelEnabled("debug")) {
      logger.debug(
        {
          connection_id: connection.id,
          request_id: requestId,
          client_id: connection.clientId,
          role: connection.role,
          remote_address: connection.remoteAddress,
          transport: connection.transport.name,
          codec: connection.transport.codec,
        },
        "connection accepted",
      );
    }
    deps.onOpened(connection);
    ctx.emit("connection", connection);
  }

  function onSlowConsumer(connection: Connection): void {
    counters.slowConsumers += 1;
    logger.warn(
      {
        connection_id: connection.id,
        client_id: connection.clientId,
        transport: connection.transport.name,
        buffered_bytes: connection.bufferedBytes,
      },
      "slow consumer: send buffer over the high-water mark",
    );
    // Its buffer is full, so the close frame may never get through: terminate if it lingers.
    connection.close(CloseCode.TryAgainLater, "slow consumer: send buffer full");
    const timer = clock.setTimeout(() => connection.terminate(), SLOW_CONSUMER_GRACE_MS);
    connection.onDispose(() => clock.clearTimeout(timer));
  }

  function onClosed(connection: Connection, observedCode: number, reason: string): void {
    // When the server started the close and the peer never answered it (or could not be
    // parsed any more), ws reports 1006; the code that matters is the one that was sent.
    const code =
      observedCode === CloseCode.Abnormal && connection.closeCodeSent !== undefined
        ? connection.closeCodeSent
        : observedCode;
    const error = connection.lastError;
    heartbeat.remove(connection);
    registry.remove(connection);
    wireCount(counters, connection.transport.name, connection.transport.codec).active -= 1;
    if (ctx.presence) {
      // Any close may be a client on its way back (the client's own reconnect() closes with
      // 1000): the member is held for the grace period (PROTOCOL.md, "Presence").
      for (const topic of connection.subscriptions) {
        ctx.presence.unsubscribed(connection, topic, false);
      }
    }
    topics.removeConnection(connection);
    connection.dispose();
    deps.onClosed(connection);
    bump(counters.closes, String(code));
    const lifetimeMs = clock.now() - connection.connectedAt;
    ctx.metrics.observeConnectionClosed(lifetimeMs / 1000);
    const unexpected = unexpectedCloses.has(code) || error !== undefined;
    const level = unexpected ? "warn" : "debug";
    // The close line's fields are built only when it is logged (a close is as frequent as
    // an accept, and benchmarks and quiet deployments run with logging off).
    if (logger.isLevelEnabled(level)) {
      const fields = {
        connection_id: connection.id,
        client_id: connection.clientId,
        transport: connection.transport.name,
        codec: connection.transport.codec,
        code,
        reason,
        ...(code === observedCode ? {} : { observed_code: observedCode }),
        duration_ms: lifetimeMs,
        messages_in: connection.counters.messagesIn,
        messages_out: connection.counters.messagesOut,
        bytes_in: connection.counters.bytesIn,
        bytes_out: connection.counters.bytesOut,
        errors: connection.counters.errors,
        ...(error
          ? { err: { message: error.message, code: (error as { code?: string }).code } }
          : {}),
      };
      logger[level](fields, unexpected ? "connection closed unexpectedly" : "connection closed");
    }
    ctx.emit("disconnect", connection, { code, reason });
  }

  return {
    sink,
    accept,
    closed: (connection) => connection.transport.whenClosed(connection),
    stop: () => heartbeat.stop(),
  };
}
