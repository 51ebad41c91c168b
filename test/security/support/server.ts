import { Writable } from "node:stream";
import { createServer, type LifelineServer, type ServerOptions } from "@lifeline/server";
import { type Logger, pino } from "pino";

/** Every line the server logged, raw (to search for secrets) and parsed. */
export interface LogCapture {
  readonly raw: string[];
  readonly lines: Record<string, unknown>[];
  readonly logger: Logger;
}

export function captureLogs(): LogCapture {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (text.trim() === "") continue;
        raw.push(text);
        lines.push(JSON.parse(text) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { raw, lines, logger: pino({ level: "debug" }, stream) };
}

export interface TestServer<P = unknown> {
  readonly server: LifelineServer<P>;
  readonly logs: LogCapture;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A server on 127.0.0.1:0 logging at debug level into memory. */
export async function startServer<P = unknown>(
  options: ServerOptions<P> = {},
): Promise<TestServer<P>> {
  const logs = captureLogs();
  const server = await createServer<P>({ logger: logs.logger, ...options });
  return {
    server,
    logs,
    port: server.port,
    url: `ws://127.0.0.1:${server.port}/ws`,
    close: () => server.close({ drainTimeoutMs: 200, spreadMs: 0, reconnectAfterMs: 0 }),
  };
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
