/**
 * Lifeline's server with its in-memory broker, configured as a production deployment
 * would be except for the limits that would throttle a benchmark: all load comes from
 * one IP, and the round-trip scenario sends far more than 100 messages/s per socket.
 * Logging is off for every contender (none of the others logs either).
 */
import { type Broker, createServer } from "@lifeline/server";
import type { BenchData } from "../payload.js";
import { ECHO_METHOD, TOPIC } from "../payload.js";
import type { ContenderServer, StartOptions } from "./types.js";

/**
 * `broker`: the Redis broker for the cross-node scenario (closed with the server); the
 * in-memory one when absent.
 */
export async function startLifelineServer(
  options: StartOptions & { readonly broker?: Broker },
): Promise<ContenderServer> {
  const server = await createServer({
    host: options.host,
    port: options.port,
    ...(options.broker === undefined ? {} : { broker: options.broker }),
    logger: { level: "silent" },
    ...(options.heartbeatMs === undefined
      ? {}
      : { heartbeat: { intervalMs: options.heartbeatMs, timeoutMs: options.heartbeatMs } }),
    limits: {
      maxConnections: 1_000_000,
      maxConnectionsPerIp: 1_000_000,
      rate: { perSecond: 1_000_000_000, burst: 1_000_000_000 },
    },
  });
  server.method(ECHO_METHOD, (params: unknown) => params);
  return {
    port: server.port,
    broadcast: (data: BenchData) => {
      void server.publish(TOPIC, data);
    },
    connections: () => server.stats().connections.active,
    close: async () => {
      await server.close({ reason: "bench over", reconnectAfterMs: 0 });
      await options.broker?.close();
    },
  };
}
