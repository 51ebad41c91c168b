import { createServer, type LifelineServer, type ServerOptions } from "@lifeline/server";
import { type TestServer as Started, startServer as start } from "@lifeline/test-support";

export { captureLogs, type LogCapture } from "@lifeline/test-support";

export type TestServer<P = unknown> = Started<LifelineServer<P>>;

/** A server on 127.0.0.1:0 logging at debug level into memory (`logger` in `options` wins). */
export function startServer<P = unknown>(options: ServerOptions<P> = {}): Promise<TestServer<P>> {
  return start(createServer<P>, options);
}

/** GET on the server's HTTP port; resolves with status and body. */
export async function httpGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: response.status, body: await response.text() };
}
