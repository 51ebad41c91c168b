import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  type ClientMessage,
  CloseCode,
  ErrorCode,
  type PublishMessage,
  parseClientMessage,
  type RequestMessage,
  SUBPROTOCOL,
  type SubscribeMessage,
  truncateCloseReason,
  type UnsubscribeMessage,
} from "@lifeline/protocol";
import type { Logger } from "pino";
import { type WebSocket, WebSocketServer } from "ws";
import type { Broker } from "./broker.js";
import { Connection, type ConnectionInfo } from "./connection.js";
import { AuthError, internalErrorBody, LifelineServerError, ServerErrorCode } from "./errors.js";
import { createSocketWriter } from "./fan-out.js";
import {
  checkQuery,
  type HandshakeQuery,
  originAllowed,
  refuseUpgrade,
  remoteAddress,
  requestUrl,
} from "./handshake.js";
import { startHeartbeat } from "./heartbeat.js";
import { buildHello } from "./hello.js";
import { createHttpHandler, type HealthReport } from "./http-endpoints.js";
import { createLogger, redactUrl } from "./logging.js";
import { createMemoryBroker } from "./memory-broker.js";
import { createMetrics } from "./metrics.js";
import {
  resolveOptions,
  type ServerOptions,
  type ShutdownOptions,
  type TopicAction,
} from "./options.js";
import { createTokenBucket, createViolationCounter } from "./rate-limit.js";
import { Registry } from "./registry.js";
import { type MethodHandler, runRequest } from "./rpc.js";
import { drainConnections } from "./shutdown.js";
import { bump, createCounters, type ServerStats } from "./stats.js";
import { Topics } from "./topics.js";

/** Result of a publish: where the message landed in the topic's log. */
export interface PublishResult {
  readonly topic: string;
  readonly offset: number;
  readonly epoch: string;
}

/** Events a `LifelineServer` emits; each `on` returns its undo. */
export interface ServerEvents<Principal> {
  /** A topic gained its first subscriber on this server. */
  topicActive: (topic: string) => void;
  /** A topic lost its last subscriber on this server: producers may idle. */
  topicIdle: (topic: string) => void;
  connection: (connection: ConnectionInfo<Principal>) => void;
  disconnect: (
    connection: ConnectionInfo<Principal>,
    close: { readonly code: number; readonly reason: string },
  ) => void;
}

export interface LifelineServer<Principal = unknown> {
  /** The port the WebSocket endpoint is reachable on. */
  readonly port: number;
  address(): AddressInfo;
  /** The HTTP server in use (created, or the one given in `server`). */
  readonly httpServer: HttpServer;
  /** Appends `data` to `topic` and delivers it to every subscriber. */
  publish(topic: string, data: unknown): Promise<PublishResult>;
  /** Registers the handler of `request`s for `name` (replacing any earlier one). */
  method<Params = unknown, Result = unknown>(
    name: string,
    handler: MethodHandler<Principal, Params, Result>,
  ): () => void;
  on<E extends keyof ServerEvents<Principal>>(
    event: E,
    listener: ServerEvents<Principal>[E],
  ): () => void;
  /** Live connections. */
  connections(): ConnectionInfo<Principal>[];
  /** The same figures as `/metrics`, as an object. */
  stats(): ServerStats;
  /** Serves /health, /api/websocket/status and /metrics; false when the path is not one. */
  handleHttp(request: IncomingMessage, response: ServerResponse): boolean;
  /**
   * Graceful shutdown: stop accepting, send `shutdown` with spread `reconnect_after_ms`,
   * close every client with 1012 in paced batches, wait for buffers to drain (bounded),
   * then release the broker (when the server created it) and the HTTP server (when owned).
   */
  close(options?: ShutdownOptions): Promise<void>;
  readonly logger: Logger;
  readonly broker: Broker;
}

/**
 * Creates a Lifeline server. Listens on its own port, or attaches to `options.server` so
 * one port serves HTTP and WebSocket. Resolves once it is listening.
 */
export async function createServer<Principal = unknown>(
  options: ServerOptions<Principal> = {},
): Promise<LifelineServer<Principal>> {
  const opts = resolveOptions(options);
  const { clock, limits } = opts;
  const logger = createLogger(opts.logger);
  const ownsBroker = opts.broker === undefined;
  const broker =
    opts.broker ??
    createMemoryBroker({ ...opts.history, dedupeWindowMs: limits.dedupeWindowMs, clock });
  const counters = createCounters();
  const registry = new Registry();
  const writer = createSocketWriter({ deflate: opts.deflate !== false });
  const events = new EventEmitter();
  const methods = new Map<string, MethodHandler<Principal>>();
  const startedAt = clock.now();
  const closeWaiters = new WeakMap<Connection, Promise<void>>();
  let closing: Promise<void> | undefined;

  const topics = new Topics(broker, {
    onActive: (topic) => emit("topicActive", topic),
    onIdle: (topic) => emit("topicIdle", topic),
    onBroadcast: (seconds, recipients, bytes) => {
      counters.broadcasts += 1;
      counters.broadcastDeliveries += recipients;
      bump(counters.messagesOut, "message", recipients);
      counters.bytesOut += recipients * bytes;
      metrics.observeBroadcast(seconds);
    },
    onDeliveryError: (connection, error) => {
      connection.counters.errors += 1;
      logger.warn({ connection_id: connection.id, err: error }, "delivery to a subscriber failed");
    },
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayload,
    clientTracking: false,
    perMessageDeflate: opts.deflate === false ? false : { threshold: opts.deflate.threshold },
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  const ownsHttp = opts.server === undefined;
  const httpServer =
    opts.server ??
    createHttpServer({
      headersTimeout: limits.handshakeTimeoutMs,
      requestTimeout: Math.max(limits.handshakeTimeoutMs, 30_000),
      // Node checks header timeouts only this often (default 30 s).
      connectionsCheckingInterval: Math.min(1000, limits.handshakeTimeoutMs),
    });
  if (!ownsHttp && httpServer.headersTimeout > limits.handshakeTimeoutMs) {
    // Issue 3: a handshake that does not complete in time is dropped, not after Node's 60 s.
    httpServer.headersTimeout = limits.handshakeTimeoutMs;
  }

  function emit(event: string, ...args: unknown[]): void {
    try {
      events.emit(event, ...args);
    } catch (error) {
      logger.error({ err: error, event }, "an event listener threw");
    }
  }

  function stats(): ServerStats {
    let buffered = 0;
    for (const connection of registry.values()) buffered += connection.socket.bufferedAmount;
    const health = broker.health();
    return {
      uptimeMs: clock.now() - startedAt,
      connections: {
        active: registry.size,
        total: counters.connectionsAccepted,
        pending: registry.pending,
      },
      topics: { active: topics.activeCount, subscriptions: topics.subscriptionCount },
      messagesIn: { ...counters.messagesIn },
      messagesOut: { ...counters.messagesOut },
      bytesIn: counters.bytesIn,
      bytesOut: counters.bytesOut,
      errors: { ...counters.errors },
      closes: { ...counters.closes },
      handshakeFailures: { ...counters.handshakeFailures },
      broadcasts: { count: counters.broadcasts, deliveries: counters.broadcastDeliveries },
      bufferedBytes: buffered,
      slowConsumers: counters.slowConsumers,
      broker: health.detail === undefined ? { healthy: health.healthy } : { ...health },
      closing: closing !== undefined,
    };
  }

  const metrics = createMetrics(stats);

  function health(): HealthReport {
    const brokerHealth = broker.health();
    const websocketHealthy = closing === undefined;
    return {
      status: closing ? "closing" : brokerHealth.healthy ? "ok" : "degraded",
      services: {
        websocket: { healthy: websocketHealthy, activeConnections: registry.size },
        broker:
          brokerHealth.detail === undefined
            ? { healthy: brokerHealth.healthy }
            : { healthy: brokerHealth.healthy, detail: brokerHealth.detail },
      },
    };
  }

  const handleHttp = createHttpHandler({
    stats,
    health,
    connections: () => [...registry.values()].map((connection) => connection.describe()),
    metrics,
    status: opts.status,
    logger,
  });

  // Handshake (issue 3, "Connections"): HTTP refusals before the upgrade, close codes after.

  function failHandshake(reason: string): void {
    bump(counters.handshakeFailures, reason);
  }

  function onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = requestUrl(request);
    if (!url || url.pathname !== opts.path) {
      // Another upgrade listener of an attached server may own this path.
      if (ownsHttp || httpServer.listenerCount("upgrade") <= 1)
        refuseUpgrade(socket, 404, "not found");
      return;
    }
    // An oversized or broken frame must never crash the process: every socket gets a listener.
    socket.on("error", (error) => {
      logger.debug({ err: error, url: redactUrl(request.url) }, "upgrade socket error");
    });
    if (closing) {
      failHandshake("closing");
      refuseUpgrade(socket, 503, "server is shutting down");
      return;
    }
    const origin = request.headers.origin;
    if (!originAllowed(origin, opts.allowedOrigins)) {
      failHandshake("origin");
      logger.info({ origin }, "handshake refused: origin not allowed");
      refuseUpgrade(socket, 403, "origin not allowed");
      return;
    }
    const address = remoteAddress(request, opts.trustProxy);
    if (registry.load >= limits.maxConnections) {
      failHandshake("max_connections");
      logger.warn({ remote_address: address }, "handshake refused: connection limit reached");
      refuseUpgrade(socket, 503, "connection limit reached", { "Retry-After": "5" });
      return;
    }
    if (registry.countFor(address) >= limits.maxConnectionsPerIp) {
      failHandshake("max_connections_per_ip");
      logger.warn({ remote_address: address }, "handshake refused: per-address limit reached");
      refuseUpgrade(socket, 429, "too many connections from this address", { "Retry-After": "5" });
      return;
    }
    const release = registry.reserve(address);
    const requestId = randomUUID();
    void admit(request, socket, head, url, address, requestId).then(release, (error: unknown) => {
      release();
      logger.error({ err: error, request_id: requestId }, "handshake crashed");
      socket.destroy();
    });
  }

  async function admit(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    address: string,
    requestId: string,
  ): Promise<void> {
    const log = { request_id: requestId, remote_address: address, url: redactUrl(request.url) };
    const checked = checkQuery(url, opts.roles);
    if (!checked.ok) {
      failHandshake(checked.failure);
      logger.info(
        { ...log, code: checked.refusal.code, reason: checked.refusal.reason },
        "handshake refused",
      );
      await upgradeAndClose(request, socket, head, checked.refusal.code, checked.refusal.reason);
      return;
    }
    const query = checked.query;
    let principal: Principal;
    try {
      principal = await authenticate(request, query, address);
    } catch (error) {
      const refusal =
        error instanceof AuthError
          ? { code: error.closeCode, reason: error.message, failure: "unauthenticated" }
          : error instanceof HandshakeTimeout
            ? { code: CloseCode.HandshakeError, reason: "handshake timed out", failure: "timeout" }
            : { code: CloseCode.HandshakeError, reason: "handshake failed", failure: "error" };
      failHandshake(refusal.code === CloseCode.Forbidden ? "forbidden" : refusal.failure);
      const level = error instanceof AuthError ? "info" : "error";
      logger[level](
        {
          ...log,
          client_id: query.clientId,
          code: refusal.code,
          reason: refusal.reason,
          ...(level === "error" ? { err: error } : {}),
        },
        "handshake refused",
      );
      await upgradeAndClose(request, socket, head, refusal.code, refusal.reason);
      return;
    }
    if (socket.destroyed) {
      failHandshake("gone");
      return;
    }
    const identity = opts.identify(principal);
    const existing = registry.byClient(query.clientId);
    let replaced: Connection | undefined;
    if (existing && !existing.closing) {
      if (existing.identity !== identity) {
        failHandshake("client_id_taken");
        logger.warn(
          { ...log, client_id: query.clientId },
          "handshake refused: client_id held by another principal",
        );
        await upgradeAndClose(
          request,
          socket,
          head,
          CloseCode.Forbidden,
          "client_id is in use by another principal",
        );
        return;
      }
      if (opts.takeover === "reject") {
        failHandshake("client_id_taken");
        await upgradeAndClose(
          request,
          socket,
          head,
          CloseCode.TooManyConnections,
          "client_id is already connected",
        );
        return;
      }
      replaced = existing;
    }
    const ws = await upgrade(request, socket, head);
    if (!ws) {
      failHandshake("upgrade");
      return;
    }
    accept(ws, request, query, principal, identity, address, requestId, replaced);
  }

  async function authenticate(
    request: IncomingMessage,
    query: HandshakeQuery,
    address: string,
  ): Promise<Principal> {
    const hook = opts.authenticate;
    if (!hook) return undefined as Principal;
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(new HandshakeTimeout()), limits.handshakeTimeoutMs);
    });
    try {
      return await Promise.race([
        Promise.resolve(
          hook(request, {
            clientId: query.clientId,
            role: query.role,
            version: query.version,
            token: query.token,
            remoteAddress: address,
          }),
        ),
        timeout,
      ]);
    } finally {
      clock.clearTimeout(timer);
    }
  }

  function upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<WebSocket | undefined> {
    if (socket.destroyed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      // ws answers a malformed upgrade with HTTP 400 and never calls back: the close settles it.
      const gone = (): void => resolve(undefined);
      socket.once("close", gone);
      wss.handleUpgrade(request, socket, head, (ws) => {
        socket.off("close", gone);
        ws.on("error", (error) => logger.debug({ err: error }, "socket error during handshake"));
        resolve(ws);
      });
    });
  }

  async function upgradeAndClose(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    code: number,
    reason: string,
  ): Promise<void> {
    const ws = await upgrade(request, socket, head);
    if (!ws) return;
    bump(counters.closes, String(code));
    ws.close(code, truncateCloseReason(reason));
  }

  function accept(
    ws: WebSocket,
    request: IncomingMessage,
    query: HandshakeQuery,
    principal: Principal,
    identity: string,
    address: string,
    requestId: string,
    replaced: Connection | undefined,
  ): void {
    const now = clock.now();
    const userAgent = request.headers["user-agent"];
    const connection = new Connection({
      id: randomUUID(),
      requestId,
      clientId: query.clientId,
      role: query.role,
      principal,
      identity,
      remoteAddress: address,
      userAgent,
      connectedAt: now,
      socket: ws,
      writer,
      counters,
      highWaterMark: limits.highWaterMark,
      bucket: createTokenBucket(limits.rate.perSecond, limits.rate.burst, now),
      violations: createViolationCounter(limits.abuse.maxViolations, limits.abuse.windowMs),
      onSlowConsumer: onSlowConsumer,
    });
    let lastError: Error | undefined;
    ws.removeAllListeners("error");
    ws.on("error", (error) => {
      lastError = error;
      // ws closes on protocol errors by itself (1009 for an oversized frame, RFC 6455 7.4.1).
      connection.closeCodeSent ??= closeCodeForSocketError(error);
      connection.counters.errors += 1;
      bump(counters.errors, (error as { code?: string }).code ?? "socket");
    });
    closeWaiters.set(
      connection,
      new Promise((resolve) => {
        ws.once("close", (code: number, reasonBuffer: Buffer) => {
          const reason = reasonBuffer.toString();
          onClosed(connection, code, reason, lastError);
          resolve();
        });
      }),
    );
    registry.add(connection);
    counters.connectionsAccepted += 1;
    if (replaced) {
      logger.info(
        { connection_id: replaced.id, client_id: replaced.clientId, replaced_by: connection.id },
        "session replaced by a newer connection",
      );
      replaced.close(CloseCode.SessionReplaced, "session replaced by a newer connection");
    }
    ws.on("message", (data: Buffer, isBinary: boolean) => onMessage(connection, data, isBinary));
    ws.on("pong", () => {
      connection.lastActivityAt = clock.now();
    });
    connection.onDispose(
      startHeartbeat(
        {
          lastSeenAt: () => connection.lastActivityAt,
          ping: () => connection.ping(),
          expire: (silentMs) => {
            logger.warn(
              { connection_id: connection.id, client_id: connection.clientId, silent_ms: silentMs },
              "heartbeat timeout: terminating silent connection",
            );
            bump(counters.errors, ErrorCode.Timeout);
            connection.terminate();
          },
        },
        clock,
        opts.heartbeat.intervalMs,
        opts.heartbeat.timeoutMs,
      ),
    );
    connection.send(
      buildHello({
        clientId: query.clientId,
        connectionId: connection.id,
        requestId,
        features: opts.features,
        heartbeatIntervalMs: opts.heartbeat.intervalMs,
        nowMs: now,
      }),
    );
    logger.info(
      {
        connection_id: connection.id,
        request_id: requestId,
        client_id: connection.clientId,
        role: connection.role,
        remote_address: address,
      },
      "connection accepted",
    );
    emit("connection", connection);
  }

  function onSlowConsumer(connection: Connection): void {
    counters.slowConsumers += 1;
    logger.warn(
      {
        connection_id: connection.id,
        client_id: connection.clientId,
        buffered_bytes: connection.socket.bufferedAmount,
      },
      "slow consumer: send buffer over the high-water mark",
    );
    // Its buffer is full, so the close frame may never get through: terminate if it lingers.
    connection.close(CloseCode.TryAgainLater, "slow consumer: send buffer full");
    const timer = clock.setTimeout(() => connection.terminate(), 1000);
    connection.onDispose(() => clock.clearTimeout(timer));
  }

  function onClosed(
    connection: Connection,
    observedCode: number,
    reason: string,
    error: Error | undefined,
  ): void {
    // When the server started the close and the peer never answered it (or could not be
    // parsed any more), ws reports 1006; the code that matters is the one that was sent.
    const code =
      observedCode === CloseCode.Abnormal && connection.closeCodeSent !== undefined
        ? connection.closeCodeSent
        : observedCode;
    registry.remove(connection);
    topics.removeConnection(connection);
    connection.dispose();
    bump(counters.closes, String(code));
    const clean = !unexpectedCloses.has(code) && error === undefined;
    const fields = {
      connection_id: connection.id,
      client_id: connection.clientId,
      code,
      reason,
      ...(code === observedCode ? {} : { observed_code: observedCode }),
      duration_ms: clock.now() - connection.connectedAt,
      messages_in: connection.counters.messagesIn,
      messages_out: connection.counters.messagesOut,
      bytes_in: connection.counters.bytesIn,
      bytes_out: connection.counters.bytesOut,
      errors: connection.counters.errors,
      ...(error
        ? { err: { message: error.message, code: (error as { code?: string }).code } }
        : {}),
    };
    if (clean) logger.info(fields, "connection closed");
    else logger.warn(fields, "connection closed unexpectedly");
    emit("disconnect", connection, { code, reason });
  }

  // Messages (issue 3, "Messaging" and "Limits and bad input").

  function onMessage(connection: Connection, data: Buffer, isBinary: boolean): void {
    const now = clock.now();
    connection.lastActivityAt = now;
    connection.counters.messagesIn += 1;
    connection.counters.bytesIn += data.length;
    counters.bytesIn += data.length;
    if (connection.closing) return;
    const parsed = isBinary
      ? ({
          ok: false,
          error: {
            code: ErrorCode.InvalidMessage,
            message: "expected a JSON text frame, got a binary frame",
            path: "",
          },
        } as const)
      : parseClientMessage(data.toString("utf8"), { maxChars: limits.maxPayload });
    if (!connection.bucket.take(now)) {
      bump(counters.messagesIn, parsed.ok ? parsed.message.type : "invalid");
      const id = parsed.ok ? idOf(parsed.message) : parsed.error.id;
      reject(connection, id, ErrorCode.RateLimited, "rate limit exceeded; slow down");
      return;
    }
    if (!parsed.ok) {
      bump(counters.messagesIn, "invalid");
      reject(connection, parsed.error.id, parsed.error.code, parsed.error.message);
      return;
    }
    const message = parsed.message;
    bump(counters.messagesIn, message.type);
    switch (message.type) {
      case "ping":
        connection.send({ type: "pong" });
        return;
      case "pong":
        return;
      case "subscribe":
      case "unsubscribe":
        connection.topicOps = connection.topicOps.then(() =>
          message.type === "subscribe"
            ? onSubscribe(connection, message)
            : onUnsubscribe(connection, message),
        );
        return;
      case "publish":
        void onPublish(connection, message);
        return;
      case "request":
        void onRequest(connection, message);
        return;
    }
  }

  /** Answers bad input; repeated violations close the connection with 1008. */
  function reject(
    connection: Connection,
    id: string | undefined,
    code: string,
    message: string,
  ): void {
    bump(counters.errors, code);
    connection.counters.errors += 1;
    if (connection.violations.record(clock.now())) {
      logger.warn(
        { connection_id: connection.id, client_id: connection.clientId, code },
        "closing connection after repeated invalid or excess messages",
      );
      connection.close(CloseCode.PolicyViolation, "too many invalid or excess messages");
      return;
    }
    if (id === undefined) connection.send({ type: "error", code, message: message.slice(0, 1024) });
    else
      connection.send({
        type: "response",
        id,
        ok: false,
        error: { code, message: message.slice(0, 1024) },
      });
  }

  function answerError(connection: Connection, id: string, code: string, message: string): void {
    bump(counters.errors, code);
    connection.send({ type: "response", id, ok: false, error: { code, message } });
  }

  async function allowed(
    connection: Connection,
    topic: string,
    action: TopicAction,
  ): Promise<boolean> {
    if (!opts.authorize) return true;
    return await opts.authorize(connection.principal as Principal, topic, action);
  }

  async function onSubscribe(connection: Connection, message: SubscribeMessage): Promise<void> {
    try {
      if (!(await allowed(connection, message.topic, "subscribe"))) {
        answerError(
          connection,
          message.id,
          ErrorCode.Forbidden,
          `not allowed to subscribe to "${message.topic}"`,
        );
        return;
      }
      if (connection.closing) return;
      await topics.subscribe(connection, message.topic, message.since, (outcome) => {
        connection.send({ type: "subscribed", id: message.id, topic: message.topic, ...outcome });
      });
    } catch (error) {
      logger.error(
        { err: error, connection_id: connection.id, topic: message.topic },
        "subscribe failed",
      );
      answerError(connection, message.id, internalErrorBody.code, internalErrorBody.message);
    }
  }

  async function onUnsubscribe(connection: Connection, message: UnsubscribeMessage): Promise<void> {
    topics.unsubscribe(connection, message.topic);
    connection.send({ type: "unsubscribed", id: message.id, topic: message.topic });
  }

  async function onPublish(connection: Connection, message: PublishMessage): Promise<void> {
    try {
      if (!(await allowed(connection, message.topic, "publish"))) {
        answerError(
          connection,
          message.id,
          ErrorCode.Forbidden,
          `not allowed to publish to "${message.topic}"`,
        );
        return;
      }
      if (opts.contract) {
        const check = opts.contract.checkTopicData(message.topic, message.data);
        if (!check.ok) {
          answerError(
            connection,
            message.id,
            ErrorCode.InvalidMessage,
            `"${message.topic}" data: ${check.issue.message}`,
          );
          return;
        }
      }
      const result = await broker.append(message.topic, message.data, {
        dedupeKey: `${connection.clientId}:${message.id}`,
      });
      connection.send({
        type: "response",
        id: message.id,
        ok: true,
        result: { topic: message.topic, offset: result.offset, epoch: result.epoch },
      });
    } catch (error) {
      logger.error(
        { err: error, connection_id: connection.id, topic: message.topic },
        "publish failed",
      );
      answerError(
        connection,
        message.id,
        ErrorCode.Overloaded,
        "publish could not be stored; retry later",
      );
    }
  }

  async function onRequest(connection: Connection, message: RequestMessage): Promise<void> {
    const controller = new AbortController();
    connection.requests.add(controller);
    try {
      const outcome = await runRequest<Principal>({
        handler: methods.get(message.method),
        method: message.method,
        params: message.params,
        context: {
          principal: connection.principal as Principal,
          clientId: connection.clientId,
          connectionId: connection.id,
        },
        timeoutMs: Math.min(message.timeout_ms ?? limits.requestTimeoutMs, limits.requestTimeoutMs),
        clock,
        contract: opts.contract,
        controller,
      });
      if (outcome.ok) {
        connection.send({ type: "response", id: message.id, ok: true, result: outcome.result });
        return;
      }
      if (outcome.cause !== undefined) {
        logger.error(
          {
            err: outcome.cause,
            connection_id: connection.id,
            method: message.method,
            id: message.id,
          },
          "method handler failed",
        );
      }
      answerError(connection, message.id, outcome.error.code, outcome.error.message);
    } finally {
      connection.requests.delete(controller);
    }
  }

  // Lifecycle.

  httpServer.on("upgrade", onUpgrade);
  const onRequestHttp = (request: IncomingMessage, response: ServerResponse): void => {
    if (handleHttp(request, response)) return;
    response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    response.end("not found\n");
  };
  if (ownsHttp) {
    httpServer.on("request", onRequestHttp);
    httpServer.on("clientError", (error, socket) => {
      logger.debug({ err: error }, "http client error");
      if (!socket.destroyed) socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(opts.port ?? 0, opts.host, () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
  }

  async function close(closeOptions?: ShutdownOptions): Promise<void> {
    if (closing) return closing;
    const shutdown = { ...opts.shutdown, ...closeOptions };
    closing = (async () => {
      logger.info({ reason: shutdown.reason, connections: registry.size }, "server shutting down");
      if (ownsHttp) httpServer.close();
      const connections = [...registry.values()];
      const { terminated } = await drainConnections({
        connections,
        options: shutdown,
        clock,
        random: opts.random,
        closed: (connection) => closeWaiters.get(connection) ?? Promise.resolve(),
      });
      await topics.close();
      httpServer.off("upgrade", onUpgrade);
      wss.close();
      if (ownsBroker) await broker.close();
      if (ownsHttp) {
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => {
          if (!httpServer.listening) resolve();
          else httpServer.close(() => resolve());
          // close() was called above; its callback may already have fired.
          httpServer.once("close", () => resolve());
        });
      }
      logger.info({ terminated }, "server closed");
    })();
    return closing;
  }

  const address = (): AddressInfo => {
    const value = httpServer.address();
    if (value === null || typeof value === "string") {
      throw new LifelineServerError(
        ServerErrorCode.InvalidOptions,
        "the HTTP server is not listening on a TCP port",
      );
    }
    return value;
  };

  return {
    get port() {
      return address().port;
    },
    address,
    httpServer,
    logger,
    broker,
    async publish(topic, data) {
      if (closing) throw new LifelineServerError(ServerErrorCode.Closed, "the server is closed");
      if (opts.contract) {
        const check = opts.contract.checkTopicData(topic, data);
        if (!check.ok) {
          throw new LifelineServerError(
            ServerErrorCode.InvalidData,
            `"${topic}" data: ${check.issue.message}`,
          );
        }
      }
      const result = await broker.append(topic, data);
      return { topic, offset: result.offset, epoch: result.epoch };
    },
    method(name, handler) {
      const entry = handler as MethodHandler<Principal>;
      methods.set(name, entry);
      return () => {
        if (methods.get(name) === entry) methods.delete(name);
      };
    },
    on(event, listener) {
      events.on(event, listener as (...args: unknown[]) => void);
      return () => {
        events.off(event, listener as (...args: unknown[]) => void);
      };
    },
    connections: () => [...registry.values()] as ConnectionInfo<Principal>[],
    stats,
    handleHttp,
    close,
  };
}

/**
 * RFC 6455 7.4.1 codes that ws sends on its own for broken frames; they are not part of
 * Lifeline's close-code table because the server never chooses them.
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

/** The close code ws sends by itself when a frame breaks the protocol. */
function closeCodeForSocketError(error: Error): number {
  switch ((error as { code?: string }).code) {
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
      return CloseCode.MessageTooBig;
    case "WS_ERR_INVALID_UTF8":
      return InvalidPayloadCode;
    default:
      return ProtocolErrorCode;
  }
}

class HandshakeTimeout extends Error {
  override readonly name = "HandshakeTimeout";
}

function idOf(message: ClientMessage): string | undefined {
  return "id" in message ? message.id : undefined;
}
