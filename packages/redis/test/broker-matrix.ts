import { createClient, type LifelineClient } from "@lifeline/client";
import { createServer, type LifelineServer, type ServerOptions } from "@lifeline/server";
import { type Disposer, within } from "@lifeline/test-support";
import { createRedisBroker } from "../src/index.js";

/** Starts a server keeping `history` messages per topic; `options` are merged over that. */
export type StartServer = (history: number, options?: ServerOptions) => Promise<LifelineServer>;

const quickClose = { reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 };

/**
 * The same server on the memory broker and on the Redis broker at `redisUrl()` (read when
 * a server starts, so it may come from a `beforeAll`), for `describe.each`. Each Redis run
 * gets its own key prefix; `disposer` closes every server and broker started.
 */
export function brokerMatrix(
  redisUrl: () => string,
  disposer: Disposer,
  prefix: string,
): [string, StartServer][] {
  let run = 0;
  const memory: StartServer = async (history, options = {}) => {
    const server = await createServer({
      port: 0,
      logger: false,
      history: { maxMessages: history },
      ...options,
    });
    disposer.add(() => server.close(quickClose));
    return server;
  };
  const redis: StartServer = async (history, options = {}) => {
    run += 1;
    const broker = createRedisBroker({
      url: redisUrl(),
      keyPrefix: `${prefix}${run}:`,
      history: { maxMessages: history },
    });
    await within(broker.ready(), "redis broker ready");
    // The server cannot ask a Redis broker how much it keeps: rewinds are bounded by hand.
    const server = await createServer({
      port: 0,
      logger: false,
      broker,
      limits: { maxRewind: history },
      ...options,
    });
    disposer.add(() => broker.close());
    disposer.add(() => server.close(quickClose));
    return server;
  };
  return [
    ["memory", memory],
    ["redis", redis],
  ];
}

/** A client of `server` with no lifecycle hooks and no log, closed by `disposer`. */
export function quietClient(
  disposer: Disposer,
  server: LifelineServer,
  clientId: string,
): LifelineClient {
  const client = createClient({
    url: `ws://127.0.0.1:${server.port}/ws`,
    role: "test",
    clientId,
    lifecycle: false,
    logLevel: "silent",
  });
  disposer.add(() => client.close());
  return client;
}
