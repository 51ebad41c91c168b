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
  within,
  wsUrl,
} from "@lifeline/test-support";

/** Starts a server on 127.0.0.1:0 with quiet logs unless a logger is given. */
export async function startServer<P = unknown>(
  options: ServerOptions<P> = {},
): Promise<LifelineServer<P>> {
  return createServer<P>({ logger: false, ...options });
}
