import { createLease, createRedisBroker } from "@lifeline/redis";
import { type Broker, createMemoryBroker } from "@lifeline/server";
import type { Logger } from "pino";
import type { DemoConfig } from "./config.js";

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
  if (config.redisUrl === undefined) {
    const broker = createDemoMemoryBroker();
    return {
      broker,
      kind: "memory",
      startProducerElection: (onChange) => onChange(true),
      stopProducerElection: async () => {},
      close: () => broker.close(),
    };
  }
  const url = config.redisUrl;
  const brokerLogger = logger.child({ component: "redis-broker" });
  const broker = createRedisBroker({
    url,
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
          url,
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
    async stopProducerElection() {
      electionStopped = true;
      await lease?.close();
    },
    async close() {
      electionStopped = true;
      await lease?.close();
      await broker.close();
    },
  };
}
