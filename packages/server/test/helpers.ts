import {
  connectOver,
  handshakeOutcome,
  type Message,
  type OpenedClient,
  openOver,
  type TestClient,
  testWire,
  type WireConnectOptions,
} from "@lifeline/test-support";
import { createServer, type LifelineServer, type ServerOptions } from "../src/index.js";

export {
  captureLogs,
  connect as connectWebSocket,
  createDisposer,
  createFakeClock,
  type FakeClock,
  type LogCapture,
  ofType,
  openClient,
  type TestClient,
  upgradeStatus,
  type WsTestClient,
  within,
  wsUrl,
} from "@lifeline/test-support";

/**
 * The wire this run's raw clients speak: `LIFELINE_TEST_WIRE`, set by the projects of the
 * wire matrix (`server-msgpack`, `server-sse`; see `vitest.matrix.ts`), else `websocket`.
 */
export const wire = testWire();

/**
 * Defines `tests` only when this run's transport is a WebSocket (JSON or MessagePack
 * frames), for what the HTTP fallback answers differently by design (a close code where
 * SSE answers an HTTP status). Not `describe.runIf`: a skipped test fails a run under
 * `CI=true`, and such a test is not skipped over SSE, it does not exist there.
 */
export function onWebSocket(tests: () => void): void {
  if (wire !== "sse") tests();
}

/**
 * Defines `tests` only on the default wire (WebSocket with JSON text frames), for tests that
 * hold the `ws` socket itself (ping frames, extensions, close frames, text framing) through
 * `connectWebSocket`: run once, not once per wire.
 */
export function onJsonWebSocket(tests: () => void): void {
  if (wire === "websocket") tests();
}

/**
 * The close code the server records for a client's `close()`: 1000 from a WebSocket close
 * frame; over SSE the client can only drop its stream, which is 1006 (PROTOCOL.md, "HTTP
 * fallback (SSE)").
 */
export const clientCloseCode = wire === "sse" ? 1006 : 1000;

/** Opens a raw client of `server` over this run's wire as `clientId`, with its hello. */
export function connect(
  server: { readonly port: number },
  clientId = "c1",
  extraQuery = "",
  options: WireConnectOptions = {},
): Promise<TestClient & { hello: Message }> {
  return connectOver(wire, server, clientId, extraQuery, options);
}

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

/**
 * Starts a handshake over this run's wire with `query` without waiting for a hello, to read
 * a refusal by close code (4400, 4401...): a WebSocket closed after the upgrade, or an SSE
 * stream ended by its close event.
 */
export function openHandshake(
  server: { readonly port: number },
  query: string,
  options: { readonly headers?: Record<string, string> } = {},
): Promise<OpenedClient> {
  return openOver(wire, server, query, options);
}

/**
 * How a handshake over this run's wire with `query` ends: `"open"`, `"http <status>"` for
 * a refusal with an HTTP status (the same on both transports), or `"dropped"`.
 */
export function handshake(
  server: { readonly port: number },
  query: string,
  headers: Record<string, string> = {},
): Promise<string> {
  return handshakeOutcome(wire, server, query, headers);
}
