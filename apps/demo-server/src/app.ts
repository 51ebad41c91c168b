import { createServer as createHttpServer } from "node:http";
import { type Broker, createServer, type LifelineServer, MethodError } from "@lifeline/server";
import type { Logger } from "pino";
import { createStatusGuard, isLoopback } from "./admin.js";
import { createApiHandler } from "./api.js";
import { createDemoBroker, type DemoBroker } from "./broker.js";
import { type Clock, systemClock } from "./clock.js";
import type { DemoConfig } from "./config.js";
import {
  contract,
  type ObservatoryPublish,
  type ObservatorySpec,
  type PageConfig,
  statusTopic,
  TICKS_TOPIC,
  type Tick,
} from "./contract.js";
import { createDemoAuth, type DemoPrincipal } from "./demo-auth.js";
import { createHttpHandler } from "./http.js";
import { createLogger } from "./log.js";
import { createObservatory, TelescopeError } from "./telescopes.js";
import { createTicks } from "./ticks.js";

export interface DemoServerOptions {
  readonly config: DemoConfig;
  /** @default pino at `config.logLevel`, JSON or text per `config.logFormat` */
  readonly logger?: Logger;
  /**
   * A broker that outlives this server (tests restart the server on it, as a Redis
   * deployment would). Not closed by `close()`.
   * @default memory, or Redis when `config.redisUrl` is set
   */
  readonly broker?: Broker;
  /** @default the system clock */
  readonly clock?: Clock;
  /**
   * Peers that may read `/api/websocket/status` without the admin token, judged by the
   * socket's remote address. Tests narrow it to tell two loopback addresses apart.
   * @default isLoopback (127.0.0.0/8 and ::1)
   */
  readonly isTrustedAddress?: (address: string) => boolean;
  /**
   * How long a demo sign-in token lasts, in milliseconds; the page refreshes it in band
   * before then. Tests shorten it.
   * @default 300000
   */
  readonly tokenTtlMs?: number;
}

export interface DemoServer {
  /** The port HTTP and WebSocket listen on. */
  readonly port: number;
  /** `http://host:port/` of the dashboard. */
  readonly url: string;
  readonly lifeline: LifelineServer<DemoPrincipal | undefined, ObservatorySpec>;
  /** True while this process produces telescopes and ticks (always in memory; the lease holder on Redis). */
  readonly producing: boolean;
  /** Calls `listener` whenever `producing` changes; returns the undo. */
  onProducingChange(listener: (producing: boolean) => void): () => void;
  /** Graceful: clients get `shutdown` and 1012, the lease is released, the port freed. */
  close(): Promise<void>;
}

/**
 * The observatory service on one port: the dashboard at `/`, the WebSocket at `/ws`,
 * `/health`, `/api/websocket/status`, `/metrics`; telescopes and ticks produced only
 * while someone listens (and, on Redis, only on the node holding the producer lease).
 */
export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config);
  const owned: DemoBroker | undefined =
    options.broker === undefined ? createDemoBroker(config, logger) : undefined;
  const broker = options.broker ?? (owned as DemoBroker).broker;
  const brokerKind: PageConfig["broker"] = owned?.kind ?? "external";

  const httpServer = createHttpServer();
  httpServer.requestTimeout = 30_000;
  const isAdmin = createStatusGuard({
    adminToken: config.adminToken,
    isTrustedAddress: options.isTrustedAddress ?? isLoopback,
  });
  const auth = createDemoAuth({ clock, ttlMs: options.tokenTtlMs ?? 300_000 });
  const lifeline = await createServer<DemoPrincipal | undefined, ObservatorySpec>({
    server: httpServer,
    path: "/ws",
    contract,
    broker,
    // Pages that did not sign in connect as "anonymous"; a signed-in page's token names
    // its user, whose identity a refresh cannot change.
    authenticate: (_request, handshake) =>
      handshake.token === undefined ? undefined : auth.verify(handshake.token),
    credentials: {
      refresh: (token) => auth.verify(token),
      expiresAt: (principal) => principal?.exp,
    },
    heartbeat: { intervalMs: config.heartbeatIntervalMs, timeoutMs: config.heartbeatTimeoutMs },
    limits: { maxConnections: config.maxConnections },
    // Every demo topic has presence: a telescope card shows who watches it.
    presence: () => true,
    // Status goes out as deltas at 5 Hz, with the whole state at least every 10 s.
    deltas: { fullEvery: 50, fullIntervalMs: 10_000 },
    ...(config.allowedOrigins === undefined ? {} : { allowedOrigins: config.allowedOrigins }),
    status: { enabled: true, authorize: isAdmin },
    logger: logger.child({ component: "lifeline" }),
    // A demo has few clients: bring them back within a few seconds of a restart.
    shutdown: { reason: "demo server restarting", reconnectAfterMs: 500, spreadMs: 1500 },
    clock,
  });

  const publishLogged: ObservatoryPublish = (topic, data) => {
    lifeline.publish(topic, data).catch((error: unknown) => {
      logger.warn({ err: error, topic }, "publish failed");
    });
  };

  const observatory = createObservatory({
    clock,
    publish: publishLogged,
    publishStatus: (topic, telescopeId, changes) => {
      lifeline.publishDelta(topic, telescopeId, changes).catch((error: unknown) => {
        logger.warn({ err: error, topic }, "status not published");
      });
    },
  });
  let lastTick = 0;
  const ticks = createTicks({
    clock,
    publish: async (tick: Tick) => {
      await lifeline.publish(TICKS_TOPIC, tick);
      lastTick = Math.max(lastTick, tick.n);
    },
    lastPublished: async () => Math.max(lastTick, await lastTickInLog(broker)),
    onError: (error) => logger.warn({ err: error }, "tick not published; will re-read the count"),
  });

  const setDemand = (topic: string, active: boolean): void => {
    if (topic === TICKS_TOPIC) {
      ticks.setDemand(active);
      return;
    }
    const telescopeId = /^telescope\/([^/]+)\/status$/.exec(topic)?.[1];
    // A status topic that gains subscribers starts them with a whole state, not a delta.
    if (active && telescopeId !== undefined) {
      lifeline.forgetDelta(statusTopic(telescopeId), telescopeId);
    }
    observatory.setDemand(topic, active);
  };
  if (brokerKind === "redis") {
    // Demand is per node, but any node's subscribers need the producer's messages: on
    // Redis the lease holder produces whether or not its own clients listen.
    for (const topic of [...observatory.topics, TICKS_TOPIC]) setDemand(topic, true);
  } else {
    lifeline.on("topicActive", (topic) => setDemand(topic, true));
    lifeline.on("topicIdle", (topic) => setDemand(topic, false));
  }
  let producing = true;
  const producingListeners = new Set<(producing: boolean) => void>();
  const setProducing = (allowed: boolean): void => {
    const changed = producing !== allowed;
    producing = allowed;
    if (changed) for (const listener of [...producingListeners]) listener(allowed);
    observatory.setProducing(allowed);
    ticks.setProducing(allowed);
  };
  if (owned !== undefined) {
    setProducing(false);
    owned.startProducerElection(setProducing);
  }

  const nodeId = config.nodeId ?? `node-${config.port}`;
  lifeline.method("telescope.move", (params) => asMethodError(() => observatory.move(params)));
  lifeline.method("telescope.set_gain", (params) =>
    asMethodError(() => observatory.setGain(params)),
  );
  lifeline.method("echo", (params) => params ?? null);
  lifeline.method("time", () => {
    const now = clock.now();
    return { server_time: new Date(now).toISOString(), epoch_ms: now };
  });

  const redisInfo = () => owned?.redisInfo() ?? null;
  lifeline.method("node.info", () => ({
    node_id: nodeId,
    broker: brokerKind,
    producer: producing,
    redis: redisInfo(),
  }));
  httpServer.on(
    "request",
    createHttpHandler({
      webDir: config.webDir,
      handleLifeline: lifeline.handleHttp,
      handleApi: createApiHandler({ auth, lifeline, isAdmin }),
      pageConfig: (): PageConfig => ({
        nodeId,
        redis: redisInfo(),
        broker: brokerKind,
        producer: producing,
        wsUrls: config.publicWsUrls ?? null,
      }),
    }),
  );

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(config.port, config.host, () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await ticks.close();
    observatory.close();
    await lifeline.close({ drainTimeoutMs: 0 });
    await owned?.close();
    throw error;
  }
  const address = httpServer.address();
  const port = typeof address === "object" && address !== null ? address.port : config.port;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}/`;
  logger.info({ url, broker: brokerKind, webDir: config.webDir }, "demo server listening");

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    lifeline,
    get producing() {
      return producing;
    },
    onProducingChange(listener) {
      producingListeners.add(listener);
      return () => {
        producingListeners.delete(listener);
      };
    },
    close() {
      closing ??= (async () => {
        logger.info("demo server shutting down");
        await ticks.close();
        observatory.close();
        // Released before the clients are told, so another node takes over at once rather
        // than after the lease's TTL.
        await owned?.stopProducerElection().catch((error: unknown) => {
          logger.warn({ err: error }, "lease release failed; it expires by itself");
        });
        await lifeline.close();
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => {
          if (!httpServer.listening) resolve();
          else httpServer.close(() => resolve());
        });
        await owned?.close().catch((error: unknown) => {
          logger.warn({ err: error }, "broker close failed");
        });
        logger.info("demo server stopped");
      })();
      return closing;
    },
  };
}

/** The n of the last tick still in the topic's log, 0 when there is none. */
async function lastTickInLog(broker: Broker): Promise<number> {
  const head = await broker.head(TICKS_TOPIC);
  if (head.offset === 0) return 0;
  const read = await broker.readSince(TICKS_TOPIC, head.offset - 1, head.epoch);
  // The broker's log is untyped: the entry is read as unknown and narrowed, not cast.
  const data: unknown = read.entries.at(-1)?.data;
  return typeof data === "object" && data !== null && "n" in data && typeof data.n === "number"
    ? data.n
    : 0;
}

/** Telescope failures reach the caller with their own code; anything else stays internal. */
async function asMethodError<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof TelescopeError) throw new MethodError(error.code, error.message);
    throw error;
  }
}
