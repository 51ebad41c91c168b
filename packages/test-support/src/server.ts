import type { Logger } from "pino";
import { captureLogs, type LogCapture } from "./logs.js";

/** How a test server closes: a short drain and no reconnect spread, so a test ends at once. */
export const QUICK_CLOSE = { drainTimeoutMs: 200, spreadMs: 0, reconnectAfterMs: 0 } as const;

/**
 * The part of a Lifeline server these helpers use. Structural, so this package depends on
 * no Lifeline package and the server's own tests can use it without a dependency cycle.
 */
export interface ClosableServer {
  readonly port: number;
  close(options?: typeof QUICK_CLOSE): Promise<void>;
}

export interface TestServer<S extends ClosableServer> {
  readonly server: S;
  /** Everything the server logged, at debug level. */
  readonly logs: LogCapture;
  readonly port: number;
  /** `ws://127.0.0.1:<port>/ws`, without a query. */
  readonly url: string;
  /** Closes with {@link QUICK_CLOSE}. */
  close(): Promise<void>;
}

/**
 * Starts a server with `create` (the server package's `createServer`) on 127.0.0.1:0,
 * logging into memory: `startServer(createServer, { limits: ... })`.
 */
export async function startServer<S extends ClosableServer, O extends object>(
  create: (options: O & { logger: Logger }) => Promise<S>,
  options: O,
): Promise<TestServer<S>> {
  const logs = captureLogs();
  const server = await create({ logger: logs.logger, ...options });
  return {
    server,
    logs,
    port: server.port,
    url: `ws://127.0.0.1:${server.port}/ws`,
    close: () => server.close(QUICK_CLOSE),
  };
}
