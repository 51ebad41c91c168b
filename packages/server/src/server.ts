import { EventEmitter } from "node:events";
import type { Server as HttpServer, IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  CloseCode,
  type Contract,
  type ContractCheck,
  type ContractSpec,
  type DeltaStateOf,
  type DirectData,
  type MergePatch,
  type MethodOf,
  type MethodParams,
  type MethodResult,
  type TopicData,
  type TopicOf,
} from "@lifeline/protocol";
import { createAdmission } from "./admission.js";
import type { Broker, SessionRecord, SessionTarget } from "./broker.js";
import { type BrokerOutageWatch, watchBrokerOutage } from "./broker-outage.js";
import { checkConflationSupport, conflateEntry } from "./conflation.js";
import type { ConnectionInfo } from "./connection.js";
import type { ServerContext } from "./context.js";
import { createCredentials } from "./credentials.js";
import { createDeltaTracker } from "./deltas.js";
import { createDispatcher } from "./dispatch.js";
import { LifelineServerError, ServerErrorCode } from "./errors.js";
import { createHttpHandler, type HealthReport, type HttpHandler } from "./http-endpoints.js";
import { mountHttp } from "./http-mount.js";
import { createIdGenerator } from "./ids.js";
import { createLogger, type Log } from "./logging.js";
import { createMemoryBroker } from "./memory-broker.js";
import { createMetrics } from "./metrics.js";
import { resolveOptions, type ServerOptions, type ShutdownOptions } from "./options.js";
import { createMemoryPresence } from "./presence/memory-presence.js";
import { ServerPresence } from "./presence/presence.js";
import { Registry } from "./registry.js";
import type { MethodHandler } from "./rpc.js";
import { createSessions } from "./session.js";
import type { DisconnectOptions } from "./session-control.js";
import { createSessionServices, type SendToOptions } from "./session-services.js";
import { drainConnections } from "./shutdown.js";
import { bump, createCounters, type ServerStats } from "./stats.js";
import { Topics } from "./topics.js";
import { tracePublish } from "./tracing.js";
import { createWsEndpoint, preframedCapability, websocketSubprotocols } from "./transport/index.js";
import { createSseRoutes } from "./transport/sse-routes.js";
import { isSseStream } from "./transport/sse-stream.js";
import { createSseEndpoint } from "./transport/sse-transport.js";
import { createUpgradeHandler } from "./transport/ws-upgrade.js";

/** Result of a publish: where the message landed in the topic's log. */
export interface PublishResult {
  /** The topic appended to. */
  readonly topic: string;
  /** The offset the message got. */
  readonly offset: number;
  /** The epoch of that offset. */
  readonly epoch: string;
}

/** Events a `LifelineServer` emits; each `on` returns its undo. */
export interface ServerEvents<Principal> {
  /** A topic gained its first subscriber on this server. */
  topicActive: (topic: string) => void;
  /** A topic lost its last subscriber on this server: producers may idle. */
  topicIdle: (topic: string) => void;
  /** A connection was accepted and registered. */
  connection: (connection: ConnectionInfo<Principal>) => void;
  /** A connection closed, with its close code and reason. */
  disconnect: (
    connection: ConnectionInfo<Principal>,
    close: { readonly code: number; readonly reason: string },
  ) => void;
}

/** The merged state first (the message that matters), then the message sent. */
function checkBoth(
  contract: Contract,
  topic: string,
  latest: unknown,
  data: unknown,
): ContractCheck {
  const check = contract.checkTopicData(topic, latest);
  return check.ok && data !== latest ? contract.checkTopicData(topic, data) : check;
}

/** What `publishDelta` takes for a topic whose data is `DeltaMessage<State>`. */
export type DeltaChangesOf<D> = [DeltaStateOf<D>] extends [Readonly<Record<string, unknown>>]
  ? MergePatch<DeltaStateOf<D>>
  : Readonly<Record<string, unknown>>;

/** Topics `publish()` accepts: the contract's, or any string without a typed contract. */
export type ServerTopic<S extends ContractSpec> = [TopicOf<S>] extends [never]
  ? string
  : TopicOf<S>;
/** Method names `method()` accepts: the contract's, or any string without a typed contract. */
export type ServerMethod<S extends ContractSpec> = [MethodOf<S>] extends [never]
  ? string
  : MethodOf<S>;

/**
 * A running server. `S` is the spec of the `contract` option: with one, `publish` and
 * `method` are typed by it; without one, names are strings and payloads `unknown`.
 */
export interface LifelineServer<Principal = unknown, S extends ContractSpec = ContractSpec> {
  /**
   * The port the WebSocket endpoint is reachable on. Throws `LIFELINE_INVALID_OPTIONS`
   * with `noServer`, where the application's server has the port.
   */
  readonly port: number;
  /** The address of the HTTP server in use; throws like `port` with `noServer`. */
  address(): AddressInfo;
  /**
   * The HTTP server in use (created, or the one given in `server`); undefined with
   * `noServer`.
   */
  readonly httpServer: HttpServer | undefined;
  /**
   * Appends `data` to `topic` and delivers it to every subscriber. With a contract, `data`
   * is the type of the topic (or the pattern matching it) and is validated before append.
   */
  publish<T extends ServerTopic<S>>(topic: T, data: TopicData<S, T>): Promise<PublishResult>;
  /**
   * Publishes what changed in the state of `key` on `topic` (PROTOCOL.md, "Deltas"): the
   * message is `{key, changes}`, or `{key, full}` with the whole merged state for the
   * key's first message, every `deltas.fullEvery`-th and after `deltas.fullIntervalMs`.
   * `changes` is a JSON Merge Patch (RFC 7386: `null` deletes). With a contract the
   * topic's data type is a `DeltaMessage<State>` and `changes` is typed by `State`. On a
   * conflated topic the latest-per-key table keeps the merged full state, so a subscriber
   * joining with `rewind` or catching up gets whole states. Publish a key's deltas from one
   * server: the merged state lives in this process.
   */
  publishDelta<T extends ServerTopic<S>>(
    topic: T,
    key: string,
    changes: DeltaChangesOf<TopicData<S, T>>,
  ): Promise<PublishResult>;
  /**
   * Drops the state `publishDelta` keeps for `key` (a device removed, a session ended), so
   * it stops counting towards `deltas.maxKeys`; a later `publishDelta` for it starts with
   * a full state of its changes alone.
   */
  forgetDelta(topic: ServerTopic<S>, key: string): void;
  /**
   * Registers the handler of `request`s for `name` (replacing any earlier one). With a
   * contract, the handler gets the method's params type and must return its result type.
   */
  method<M extends ServerMethod<S>>(
    name: M,
    handler: MethodHandler<Principal, MethodParams<S, M>, MethodResult<S, M>>,
  ): () => void;
  /** Calls `listener` on each `event`; returns its undo. */
  on<E extends keyof ServerEvents<Principal>>(
    event: E,
    listener: ServerEvents<Principal>[E],
  ): () => void;
  /**
   * Sends `data` to one client (`{ clientId }`) or to every client of a user (`{ user }`, the
   * identity `identify` gives its principal), on whichever node it is connected. It lands in
   * the client's inbox, which the client reads as the topic `@inbox` with a topic's offsets,
   * resume and deduplication: a client that is reconnecting gets it when it is back, if
   * that is within `sessions.lingerMs` of its last close (PROTOCOL.md, "Direct messages").
   * With a contract, `data` is its `direct` type and is validated first. Resolves with the
   * number of clients it was appended for (0 when none is known).
   */
  sendTo(target: SessionTarget, data: DirectData<S>, options?: SendToOptions): Promise<number>;
  /**
   * Closes every live connection of a client or a user, on every node (through the broker's
   * control channel), with `code` (default 4403: revoked, the client does not reconnect) and
   * `reason`. Resolves once every node has been told. Pair it with `authenticate` refusing
   * the user, or a revoked user can connect again with credentials still valid.
   */
  disconnect(target: SessionTarget, options?: DisconnectOptions): Promise<void>;
  /** The live sessions of a user, on every node sharing the broker's session directory. */
  sessions(target: { readonly user: string }): Promise<SessionRecord[]>;
  /** Live connections. */
  connections(): ConnectionInfo<Principal>[];
  /** The same figures as `/metrics`, as an object. */
  stats(): ServerStats;
  /**
   * Serves `GET /health`, `GET /metrics` and, when `status.enabled`, `GET
   * /api/websocket/status` on a request of the application's HTTP server or framework.
   * Returns true when it took the request; otherwise calls `next` (when given) and returns
   * false, leaving the response untouched. Shaped as a connect/Express middleware:
   * `app.use(server.handleHttp)`; under a prefix (`app.use("/lifeline", ...)`) the paths are
   * relative to it. Safe to pass detached (it does not use `this`).
   */
  readonly handleHttp: HttpHandler;
  /**
   * Takes an HTTP upgrade request from the application's server (its `upgrade` event):
   * when the request's path is the endpoint's (`path`), the handshake is admitted exactly
   * as on the server's own port (Origin check, connection and handshake limits,
   * `authenticate`, refusal after shutdown began) and it returns true; the socket is then
   * the server's, answered with an HTTP refusal or upgraded. For any other path it returns
   * false and leaves the socket untouched, for the application's other WebSocket endpoints
   * (or `socket.destroy()`). Safe to pass detached.
   * @example
   * ```ts
   * const lifeline = await createServer({ noServer: true });
   * httpServer.on("upgrade", (request, socket, head) => {
   *   if (!lifeline.handleUpgrade(request, socket, head)) socket.destroy();
   * });
   * ```
   */
  readonly handleUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean;
  /**
   * Graceful shutdown: stop accepting, send `shutdown` with spread `reconnect_after_ms`,
   * close every client with 1012 in paced batches, wait for buffers to drain (bounded),
   * then release the broker (when the server created it) and the HTTP server (when owned).
   */
  close(options?: ShutdownOptions): Promise<void>;
  /** The logger in use: the `logger` option's, or the default pino at `warn`. */
  readonly logger: Log;
  /** The broker in use: the `broker` option's, or the memory broker the server created. */
  readonly broker: Broker;
}

/**
 * Creates a Lifeline server. Listens on its own port, attaches to `options.server` so one
 * port serves HTTP and WebSocket, or (`noServer`) takes upgrades the application hands to
 * `handleUpgrade`. Resolves once it is listening.
 */
export async function createServer<Principal = unknown, S extends ContractSpec = ContractSpec>(
  options: ServerOptions<Principal, S> = {},
): Promise<LifelineServer<Principal, S>> {
  const opts = resolveOptions(options);
  const { clock, limits } = opts;
  const logger = createLogger(opts.logger);
  const ownsBroker = opts.broker === undefined;
  const broker =
    opts.broker ??
    createMemoryBroker({
      ...opts.history,
      dedupeWindowMs: limits.dedupeWindowMs,
      maxTopics: limits.maxTopics,
      clock,
    });
  const counters = createCounters();
  const metrics = createMetrics(stats, opts.metrics);
  const registry = new Registry();
  const events = new EventEmitter();
  const methods = new Map<string, MethodHandler<Principal>>();
  const startedAt = clock.now();
  let closing: Promise<void> | undefined;
  let outage: BrokerOutageWatch | undefined;

  const emit = (event: string, ...args: unknown[]): void => {
    try {
      events.emit(event, ...args);
    } catch (error) {
      logger.error({ err: error, event }, "an event listener threw");
    }
  };

  checkConflationSupport(opts.contract, broker);
  const deltas = createDeltaTracker(opts.deltas, clock);
  const topics = new Topics(
    broker,
    {
      onActive: (topic) => emit("topicActive", topic),
      onIdle: (topic) => emit("topicIdle", topic),
      onBroadcast: (seconds, recipients, bytes) => {
        counters.broadcasts += 1;
        counters.broadcastDeliveries += recipients;
        bump(counters.messagesOut, "message", recipients);
        counters.bytesOut += bytes;
        metrics.observeBroadcast(seconds);
      },
      onDeliveryError: (connection, error) => {
        connection.counters.errors += 1;
        counters.broadcastFailures += 1;
        logger.warn(
          { connection_id: connection.id, err: error },
          "delivery to a subscriber failed",
        );
      },
      onEncodeError: (entry, error) => {
        bump(counters.errors, "encode");
        logger.error(
          { err: error, topic: entry.topic, offset: entry.offset },
          "message could not be encoded as JSON; not delivered",
        );
      },
      onFellBehind: () => {
        counters.conflatedCatchUps += 1;
      },
      onCatchUpError: (connection, topic, error) => {
        logger.warn(
          { connection_id: connection.id, topic, err: error },
          "a conflated subscriber could not catch up; closing it so it resumes",
        );
        connection.close(CloseCode.TryAgainLater, "could not catch up; resume from history");
      },
    },
    {
      isConflated: (topic) => opts.contract?.conflation(topic) !== undefined,
      highWaterMark: limits.conflateHighWaterMark,
      clock,
    },
  );

  const presence =
    opts.presence &&
    new ServerPresence({
      // A broker without presence serves one node: this process keeps it.
      store: broker.presence ?? createMemoryPresence(),
      settings: { ...opts.presence, enabled: opts.presence.topics },
      clock,
      logger,
      counters,
    });

  const ctx: ServerContext<Principal> = {
    opts,
    logger,
    counters,
    registry,
    topics,
    broker,
    presence,
    methods,
    metrics,
    emit,
    isClosing: () => closing !== undefined,
    isServing: () => outage?.serving !== false,
  };

  const preframed = await preframedCapability();
  if (!preframed.ok) {
    logger.warn(
      { reason: preframed.reason },
      "ws internals are not as expected: fan-out writes through ws.send (slower)",
    );
  }

  const nextId = createIdGenerator();
  const credentials = createCredentials(ctx);
  const services = createSessionServices(ctx, credentials);
  const sessions = createSessions(ctx, {
    env: { counters, highWaterMark: limits.highWaterMark },
    onMessage: createDispatcher(ctx, credentials),
    nextId,
    onOpened: services.opened,
    onClosed: services.closed,
  });
  const websocket = createWsEndpoint({
    maxPayload: limits.maxPayload,
    deflate: opts.deflate === false ? false : { threshold: opts.deflate.threshold },
    preframed: preframed.ok,
    subprotocols: websocketSubprotocols,
    sink: sessions.sink,
  });
  const admission = createAdmission(ctx, nextId);
  const admit = createUpgradeHandler(ctx, {
    websocket,
    admit: admission,
    accept: sessions.accept,
  });
  const sseRoutes = opts.sse ? [sseRoute(opts.sse.path)] : [];

  /** The HTTP fallback's routes (PROTOCOL.md, "HTTP fallback (SSE)"). */
  function sseRoute(path: string) {
    const sse = createSseEndpoint(sessions.sink);
    return createSseRoutes(ctx, path, {
      admit: admission,
      open: (handshake, stream) =>
        sessions.accept({
          ...handshake,
          socket: stream,
          transport: sse.transport,
          attach: sse.attach,
          sseKey: stream.key,
        }),
      find: (id) => {
        const connection = registry.get(id);
        return connection !== undefined && isSseStream(connection.socket) ? connection : undefined;
      },
      receive: sse.receive,
      maxBytes: limits.maxPayload,
    });
  }

  function stats(): ServerStats {
    let buffered = 0;
    for (const connection of registry.values()) buffered += connection.bufferedBytes;
    const health = broker.health();
    return {
      uptimeMs: clock.now() - startedAt,
      connections: {
        active: registry.size,
        total: counters.connectionsAccepted,
        pending: registry.pending,
        byWire: Object.values(counters.wires).map((wire) => ({ ...wire })),
      },
      topics: { active: topics.activeCount, subscriptions: topics.subscriptionCount },
      messagesIn: { ...counters.messagesIn },
      messagesOut: { ...counters.messagesOut },
      bytesIn: counters.bytesIn,
      bytesOut: counters.bytesOut,
      errors: { ...counters.errors },
      closes: { ...counters.closes },
      handshakeFailures: { ...counters.handshakeFailures },
      limitRefusals: { ...counters.limitRefusals },
      broadcasts: {
        count: counters.broadcasts,
        deliveries: counters.broadcastDeliveries,
        failures: counters.broadcastFailures,
      },
      bufferedBytes: buffered,
      slowConsumers: counters.slowConsumers,
      conflatedCatchUps: counters.conflatedCatchUps,
      broker: health.detail === undefined ? { healthy: health.healthy } : { ...health },
      closing: closing !== undefined,
    };
  }

  function health(): HealthReport {
    const brokerHealth = broker.health();
    return {
      status: closing ? "closing" : brokerHealth.healthy ? "ok" : "degraded",
      services: {
        websocket: {
          healthy: closing === undefined && ctx.isServing(),
          activeConnections: registry.size,
        },
        broker:
          brokerHealth.detail === undefined
            ? { healthy: brokerHealth.healthy }
            : { healthy: brokerHealth.healthy, detail: brokerHealth.detail },
      },
    };
  }

  const handleHttp = createHttpHandler(
    {
      stats,
      health,
      connections: () => [...registry.values()].map((connection) => connection.describe()),
      metrics,
      status: opts.status,
      logger,
    },
    sseRoutes,
  );

  outage = watchBrokerOutage({
    broker,
    clock,
    logger,
    closeAfterMs: opts.brokerOutage.closeAfterMs,
    onOutage: (health) => {
      // Clients told to come back soon find this node refusing (503) and move on to
      // another URL; resumed there, they lose nothing (PROTOCOL.md, "Delivery and recovery").
      void drainConnections({
        connections: [...registry.values()],
        options: {
          ...opts.shutdown,
          reason: "message broker unavailable",
          reconnectAfterMs: opts.brokerOutage.reconnectAfterMs,
          spreadMs: opts.brokerOutage.spreadMs,
        },
        clock,
        random: opts.random,
        closed: sessions.closed,
      }).catch((error: unknown) => {
        logger.error({ err: error, detail: health.detail }, "closing clients failed");
      });
    },
  });

  const mount = mountHttp({ opts, logger, handleUpgrade: admit, handleHttp });
  const handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    mount.handedOver(request);
    return admit(request, socket, head);
  };
  const handleHandedHttp: HttpHandler = (request, response, next) => {
    mount.handedOver(request);
    return handleHttp(request, response, next);
  };
  await mount.listen();

  async function shutdown(closeOptions: ShutdownOptions | undefined): Promise<void> {
    const plan = { ...opts.shutdown, ...closeOptions };
    logger.info({ reason: plan.reason, connections: registry.size }, "server shutting down");
    // Stop accepting first; upgrades that still arrive (an attached server, `handleUpgrade`)
    // get 503.
    mount.stopListening();
    const { terminated } = await drainConnections({
      connections: [...registry.values()],
      options: plan,
      clock,
      random: opts.random,
      closed: sessions.closed,
    });
    sessions.stop();
    outage?.stop();
    services.stop();
    await presence?.close();
    await topics.close();
    mount.detach();
    websocket.close();
    if (ownsBroker) await broker.close();
    metrics.unregister();
    await mount.release(plan.drainTimeoutMs);
    logger.info({ terminated }, "server closed");
  }

  const address = (): AddressInfo => {
    if (mount.httpServer === undefined) {
      throw new LifelineServerError(
        ServerErrorCode.InvalidOptions,
        "noServer: the application's HTTP server has the address",
      );
    }
    const value = mount.httpServer.address();
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
    httpServer: mount.httpServer,
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
      return tracePublish(opts.tracer, topic, async () => {
        const conflate = conflateEntry(opts.contract, topic, data);
        const result = await broker.append(topic, data, conflate ? { conflate } : undefined);
        return { topic, offset: result.offset, epoch: result.epoch };
      });
    },
    async publishDelta(topic, key, changes) {
      if (closing) throw new LifelineServerError(ServerErrorCode.Closed, "the server is closed");
      if (typeof key !== "string" || typeof changes !== "object" || changes === null) {
        throw new LifelineServerError(
          ServerErrorCode.InvalidData,
          `publishDelta expects a string key and an object of changes, got ${typeof key} and ${changes === null ? "null" : typeof changes}`,
        );
      }
      const step = deltas.next(topic, key, changes as Readonly<Record<string, unknown>>);
      if (opts.contract) {
        const check = checkBoth(opts.contract, topic, step.latest, step.data);
        if (!check.ok) {
          deltas.undo(topic, key, step);
          throw new LifelineServerError(
            ServerErrorCode.InvalidData,
            `"${topic}" state of "${key}": ${check.issue.message}`,
          );
        }
      }
      const conflate = opts.contract?.conflation(topic) ? { key, value: step.latest } : undefined;
      return tracePublish(opts.tracer, topic, async () => {
        try {
          const result = await broker.append(topic, step.data, conflate ? { conflate } : undefined);
          return { topic, offset: result.offset, epoch: result.epoch };
        } catch (error) {
          // Nobody got these changes: the key's next message must carry its whole state.
          deltas.resend(topic, key);
          throw error;
        }
      });
    },
    forgetDelta(topic, key) {
      deltas.forget(topic, key);
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
    sendTo: (target, data, sendOptions) => services.sendTo(target, data, sendOptions),
    disconnect: services.disconnect,
    sessions: services.sessions,
    connections: () => [...registry.values()] as ConnectionInfo<Principal>[],
    stats,
    handleHttp: handleHandedHttp,
    handleUpgrade,
    close(closeOptions) {
      closing ??= shutdown(closeOptions);
      return closing;
    },
  };
}
