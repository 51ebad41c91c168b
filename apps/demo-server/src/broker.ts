import { createLease, createRedisBroker, type RedisBrokerOptions } from "@lifeline/redis";
import { type Broker, createMemoryBroker } from "@lifeline/server";
import { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";
import type { DemoConfig } from "./config.js";
import type { RedisInfo } from "./contract.js";

/** Name of the Redis lease whose holder runs the simulation and the ticks. */
export const PRODUCER_LEASE = "demo-producers";

export interface DemoBroker {
  readonly broker: Broker;
  readonly kind: "memory" | "redis";
  /**
   * Tells `onChange` whether this process may produce. In memory it always may (it is the
   * only node); on Redis only while it holds the lease, so exactly one node produces.
   */
  startProducerElection(onChange: (producing: boolean) => void): void;
  /** How Redis is deployed and which master(s) the broker talks to now; null in memory. */
  redisInfo(): RedisInfo | null;
  /** Stops producing here; on Redis releases the lease so another node takes over at once. */
  stopProducerElection(): Promise<void>;
  close(): Promise<void>;
}

/** The in-memory broker of a single node: 1000 messages or 5 minutes of history per topic. */
export function createDemoMemoryBroker(): Broker {
  return createMemoryBroker({ maxMessages: 1000, maxAgeMs: 300_000 });
}

/** Memory by default; `REDIS_URL` switches to `@lifeline/redis` and a producer lease. */
export function createDemoBroker(config: DemoConfig, logger: Logger): DemoBroker {
  if (
    config.redisUrl === undefined &&
    config.redisSentinel === undefined &&
    config.redisClusterNodes === undefined
  ) {
    const broker = createDemoMemoryBroker();
    return {
      broker,
      kind: "memory",
      startProducerElection: (onChange) => onChange(true),
      redisInfo: () => null,
      stopProducerElection: async () => {},
      close: () => broker.close(),
    };
  }
  const brokerLogger = logger.child({ component: "redis-broker" });
  const target = redisTarget(config);
  const broker = createRedisBroker({
    ...target.options,
    history: { maxMessages: 1000, maxAgeMs: 300_000 },
    logger: brokerLogger,
  });
  let connected = false;
  const ready = broker.ready().then(
    () => {
      connected = true;
      return true;
    },
    () => false,
  );
  broker.onHealthChange((health) => {
    // The first connection is not news; losing it later is.
    if (!connected) return;
    if (health.healthy) brokerLogger.info("redis reachable again");
    else brokerLogger.warn({ detail: health.detail }, "redis unreachable");
  });
  let lease: ReturnType<typeof createLease> | undefined;
  let electionStopped = false;
  return {
    broker,
    kind: "redis",
    startProducerElection(onChange) {
      // Competing before Redis is reachable would only log failed attempts.
      void ready.then((ok) => {
        if (!ok || electionStopped) return;
        lease = createLease({
          ...target.leaseConnection,
          name: PRODUCER_LEASE,
          ttlMs: 3000,
          logger: logger.child({ component: "lease" }),
          onChange: (held) => {
            logger.info({ held }, held ? "this node now produces" : "this node stopped producing");
            onChange(held);
          },
        });
      });
    },
    redisInfo: () => ({ mode: target.mode, masters: broker.masters() }),
    async stopProducerElection() {
      electionStopped = true;
      await lease?.close();
    },
    async close() {
      electionStopped = true;
      await lease?.close();
      target.leaseConnection.redis?.disconnect();
      await broker.close();
    },
  };
}

interface RedisTarget {
  readonly mode: RedisInfo["mode"];
  readonly options: RedisBrokerOptions;
  /** The lease's connection: its own URL, or a client of ours that `close()` ends. */
  readonly leaseConnection: { readonly url?: string; readonly redis?: Redis | Cluster };
}

/** The broker's and the lease's way to Redis, from whichever Redis variable is set. */
function redisTarget(config: DemoConfig): RedisTarget {
  if (config.redisClusterNodes !== undefined) {
    const nodes = config.redisClusterNodes.map(({ host, port }) => ({ host, port }));
    return {
      mode: "cluster",
      // A template only: the broker duplicates it, so it never connects itself.
      options: { cluster: new Cluster(nodes, { lazyConnect: true }) },
      leaseConnection: { redis: new Cluster(nodes) },
    };
  }
  if (config.redisSentinel !== undefined) {
    const sentinel = {
      sentinels: config.redisSentinel.sentinels.map(({ host, port }) => ({ host, port })),
      name: config.redisSentinel.name,
    };
    return {
      mode: "sentinel",
      options: { sentinel },
      leaseConnection: { redis: new Redis(sentinel) },
    };
  }
  const url = config.redisUrl ?? "redis://127.0.0.1:6379";
  return { mode: "single", options: { url }, leaseConnection: { url } };
}
