import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { Duplex } from "node:stream";
import { sleep } from "./clock.js";
import { warnAboutExposure, watchHandedOverSockets } from "./exposure.js";
import { refuseUpgrade } from "./handshake.js";
import type { HttpHandler } from "./http-endpoints.js";
import type { Log } from "./logging.js";
import type { ResolvedOptions } from "./options.js";
import type { UpgradeHandler } from "./transport/ws-upgrade.js";

/**
 * Where the server's upgrades and HTTP requests come from: an HTTP server of its own, the
 * application's (`server`), or none (`noServer`: the application hands them over through
 * `handleUpgrade` and `handleHttp`). Every mode admits upgrades through the same handler,
 * so the Origin check, limits, authentication and shutdown are one code path.
 */
export interface HttpMount {
  /** The HTTP server the endpoint is on; undefined with `noServer`. */
  readonly httpServer: HttpServer | undefined;
  /**
   * What `handleUpgrade` and the public `handleHttp` run first for a request the
   * application hands over.
   */
  readonly handedOver: (request: IncomingMessage) => void;
  /** Starts listening (own server only). */
  listen(): Promise<void>;
  /** Stops taking connections: an own server stops listening. */
  stopListening(): void;
  /** Removes the server's listeners from an HTTP server it does not own. */
  detach(): void;
  /** Drops an own server's remaining sockets and waits, at most `waitMs`, for it to close. */
  release(waitMs: number): Promise<void>;
}

export interface MountDeps {
  readonly opts: Pick<
    ResolvedOptions<unknown>,
    "noServer" | "server" | "port" | "host" | "limits" | "clock" | "authenticate" | "status"
  >;
  readonly logger: Log;
  readonly handleUpgrade: UpgradeHandler;
  readonly handleHttp: HttpHandler;
}

export function mountHttp(deps: MountDeps): HttpMount {
  if (deps.opts.noServer) return detachedMount(deps);
  return deps.opts.server === undefined ? ownMount(deps) : attachedMount(deps, deps.opts.server);
}

/** `noServer`: nothing to listen on; exposure is judged from the sockets handed over. */
function detachedMount({ opts, logger }: MountDeps): HttpMount {
  const watch = watchHandedOverSockets(opts, logger);
  return {
    httpServer: undefined,
    handedOver: (request) => watch(request.socket),
    listen: async () => {},
    stopListening() {},
    detach() {},
    release: async () => {},
  };
}

function attachedMount({ opts, logger, handleUpgrade }: MountDeps, server: HttpServer): HttpMount {
  const { handshakeTimeoutMs } = opts.limits;
  if (server.headersTimeout > handshakeTimeoutMs) {
    // A handshake that does not complete in time is dropped, not after Node's 60 s.
    server.headersTimeout = handshakeTimeoutMs;
  }
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (handleUpgrade(request, socket, head)) return;
    // Another upgrade listener of the application's server may own this path.
    if (server.listenerCount("upgrade") <= 1) refuseUpgrade(socket, 404, "not found");
  };
  server.on("upgrade", onUpgrade);
  const stopExposureCheck = warnAboutExposure(opts, logger, server);
  return {
    httpServer: server,
    handedOver() {},
    listen: async () => {},
    stopListening() {},
    detach() {
      server.off("upgrade", onUpgrade);
      stopExposureCheck();
    },
    release: async () => {},
  };
}

function ownMount({ opts, logger, handleUpgrade, handleHttp }: MountDeps): HttpMount {
  const { handshakeTimeoutMs } = opts.limits;
  const server = createHttpServer({
    headersTimeout: handshakeTimeoutMs,
    requestTimeout: Math.max(handshakeTimeoutMs, 30_000),
    // Node checks header timeouts only this often (default 30 s).
    connectionsCheckingInterval: Math.min(1000, handshakeTimeoutMs),
  });
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!handleUpgrade(request, socket, head)) refuseUpgrade(socket, 404, "not found");
  });
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    if (handleHttp(request, response)) return;
    response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    response.end("not found\n");
  });
  server.on("clientError", (error, socket) => {
    logger.debug({ err: error }, "http client error");
    if (!socket.destroyed) socket.destroy();
  });
  const stopExposureCheck = warnAboutExposure(opts, logger, server);
  let closed: Promise<void> = Promise.resolve();
  return {
    httpServer: server,
    handedOver() {},
    listen: () =>
      new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(opts.port ?? 0, opts.host, () => {
          server.off("error", reject);
          resolve();
        });
      }),
    stopListening() {
      closed = new Promise<void>((resolve) => server.close(() => resolve()));
    },
    detach() {
      stopExposureCheck();
    },
    async release(waitMs) {
      server.closeAllConnections();
      await Promise.race([closed, sleep(opts.clock, waitMs)]);
    },
  };
}
