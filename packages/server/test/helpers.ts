import { connect, type Message, type TestClient } from "@lifeline/test-support";
import { createServer, type LifelineServer, type ServerOptions } from "../src/index.js";

export {
  captureLogs,
  connect,
  createDisposer,
  createFakeClock,
  type FakeClock,
  type LogCapture,
  ofType,
  openClient,
  type TestClient,
  upgradeStatus,
  within,
  wsUrl,
} from "@lifeline/test-support";

/** Starts a server on 127.0.0.1:0 with quiet logs unless a logger is given. */
export async function startServer<P = unknown>(
  options: ServerOptions<P> = {},
): Promise<LifelineServer<P>> {
  return createServer<P>({ logger: false, ...options });
}

/**
 * The `server(options)` of a test file: starts like `startServer` and is closed quickly by
 * `disposer` after each test, whether it passed or not.
 */
export function serverClosedAfterEach(disposer: {
  add(dispose: () => unknown): void;
}): (options?: ServerOptions) => Promise<LifelineServer> {
  return async (options = {}) => {
    const s = await startServer(options);
    disposer.add(() => s.close({ drainTimeoutMs: 200, batchIntervalMs: 0 }));
    return s;
  };
}

/** A raw protocol client of `server` as `clientId`, closed by `disposer` after each test. */
export async function connectClosedAfterEach(
  disposer: { add(dispose: () => unknown): void },
  server: { readonly port: number },
  clientId: string,
  extraQuery = "",
): Promise<TestClient & { hello: Message }> {
  const client = await connect(server, clientId, extraQuery);
  disposer.add(() => client.close());
  return client;
}
