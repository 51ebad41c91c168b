import { createServer, type LifelineServer } from "@lifeline/server";
import { QUICK_CLOSE } from "@lifeline/test-support";
import { createRedisBroker, type RedisBroker, type RedisBrokerOptions } from "../src/index.js";
import { startFixture } from "./cluster-process.js";
import { within } from "./helpers.js";

/** One server node on the Redis broker, reachable at `url` (the WebSocket endpoint). */
export interface ClusterNode {
  readonly name: string;
  readonly url: string;
  /** The HTTP origin, for `/health`. */
  readonly httpUrl: string;
  /** Stops it: in-process nodes close gracefully, process nodes get `signal` (SIGKILL by default). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface InProcessNode extends ClusterNode {
  readonly server: LifelineServer;
  readonly broker: RedisBroker;
}

/** A node in the test process: `@lifeline/server` on port 0 with its own Redis broker. */
export async function startNode(name: string, options: RedisBrokerOptions): Promise<InProcessNode> {
  const broker = createRedisBroker(options);
  await within(broker.ready(), `${name}: broker ready`, 5000);
  // The tests publish from clients, which a server refuses unless allowed.
  const server = await createServer({
    port: 0,
    host: "127.0.0.1",
    broker,
    logger: false,
    authorize: () => true,
  });
  let stopped = false;
  return {
    name,
    url: `ws://127.0.0.1:${server.port}/ws`,
    httpUrl: `http://127.0.0.1:${server.port}`,
    server,
    broker,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close(QUICK_CLOSE);
      await broker.close();
    },
  };
}

/** A node in a child process (test/fixtures/node.ts), so it can be killed with SIGKILL. */
export async function startNodeProcess(
  name: string,
  env: { REDIS_URL: string; KEY_PREFIX: string; SESSION_TTL_MS?: string },
): Promise<ClusterNode & { readonly pid: number }> {
  const proc = await startFixture("node", env, /^READY \d+/);
  const port = Number(proc.readyLine.split(" ")[1]);
  return {
    name,
    pid: proc.pid,
    url: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    stop: (signal = "SIGKILL") => proc.kill(signal),
  };
}

/** `urls` rotated so that `first` comes first: a client's own node, then its fail-over list. */
export function startingAt(urls: readonly string[], first: number): string[] {
  return urls.map((_, i) => urls[(first + i) % urls.length] as string);
}
