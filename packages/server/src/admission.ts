import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { CloseCode, truncateCloseReason } from "@lifeline/protocol";
import type { Connection } from "./connection.js";
import type { ServerContext } from "./context.js";
import { AuthError } from "./errors.js";
import {
  checkQuery,
  type HandshakeQuery,
  ignoreSocketError,
  originAllowed,
  parseTarget,
  refuseUpgrade,
  remoteAddress,
} from "./handshake.js";
import { createLimitReporter, Limit } from "./limits.js";
import { redactUrl } from "./logging.js";
import { KeyedBuckets } from "./rate-limit.js";
import { bump } from "./stats.js";
import { traceAuthenticate } from "./tracing.js";
import type { Transport, Upgraded, WsEndpoint } from "./transport/index.js";

/** A handshake that passed every check, upgraded and ready to become a connection. */
export interface Admitted<Principal> {
  /** The wire's socket, opaque to all but `transport`. */
  readonly socket: unknown;
  readonly transport: Transport;
  /** Routes the socket's events to the sessions' sink, for `connection`. */
  readonly attach: (connection: Connection) => void;
  readonly query: HandshakeQuery;
  readonly userAgent: string | undefined;
  readonly principal: Principal;
  readonly identity: string;
  readonly remoteAddress: string;
  readonly requestId: string;
  /** The connection with the same client_id this one takes over, closed 4409 on accept. */
  readonly replaced: Connection | undefined;
}

export interface AdmissionDeps<Principal> {
  readonly websocket: WsEndpoint<Connection>;
  readonly accept: (admitted: Admitted<Principal>) => void;
  readonly nextId: () => string;
}

class HandshakeTimeout extends Error {
  override readonly name = "HandshakeTimeout";
}

/** Takes an upgrade request for the endpoint's path (true), or leaves it untouched (false). */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

/**
 * Admits upgrade requests (PROTOCOL.md, "Connecting: endpoint and handshake"): the one
 * path every upgrade takes, whether the server's own `upgrade` listener or the
 * application (`handleUpgrade`) hands it over. Refusals that need no WebSocket answer
 * with a plain HTTP status before the upgrade (origin 403, global limit or broker outage 503, per-address
 * limit and handshake rate 429); everything the client must be told with a close code
 * (4400, 4401, 4403, 4429 for a client_id's handshake rate or takeover, 4500) is decided
 * first, then the socket is upgraded and closed with it.
 */
export function createUpgradeHandler<Principal>(
  ctx: ServerContext<Principal>,
  deps: AdmissionDeps<Principal>,
): UpgradeHandler {
  const { opts, logger, counters, registry } = ctx;
  const { clock, limits } = opts;
  const { websocket } = deps;

  const fail = (reason: string): void => bump(counters.handshakeFailures, reason);
  const limitReporter = createLimitReporter(counters, logger);
  const { handshakeRate } = limits;
  // A bucket is forgotten once full, so these hold the keys of about one refill time.
  const addressHandshakes = new KeyedBuckets(
    {
      perSecond: handshakeRate.perAddressPerSecond,
      burst: handshakeRate.perAddressBurst,
      maxKeys: 100_000,
    },
    clock.now(),
  );
  const clientHandshakes = new KeyedBuckets(
    {
      perSecond: handshakeRate.perClientPerSecond,
      burst: handshakeRate.perClientBurst,
      maxKeys: 100_000,
    },
    clock.now(),
  );
  const retryAfter = String(Math.max(1, Math.ceil(1 / handshakeRate.perAddressPerSecond)));

  /**
   * A throw inside an `upgrade` listener would crash the process (it runs in the HTTP
   * parser's callback): whatever fails in a hook or here drops that one socket instead.
   */
  function onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const target = parseTarget(request.url);
    if (!target || target.path !== opts.path) return false;
    try {
      handle(request, socket, head, target.params);
    } catch (error) {
      crashed(error, socket);
    }
    return true;
  }

  function crashed(error: unknown, socket: Duplex): void {
    fail("error");
    logger.error({ err: error }, "handshake crashed");
    socket.destroy();
  }

  function handle(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    params: ReadonlyMap<string, string>,
  ): void {
    socket.on("error", ignoreSocketError);
    if (ctx.isClosing()) {
      fail("closing");
      refuseUpgrade(socket, 503, "server is shutting down");
      return;
    }
    if (!ctx.isServing()) {
      // The broker is down: another node can serve this client, this one cannot.
      fail("broker_unavailable");
      refuseUpgrade(socket, 503, "message broker unavailable", { "Retry-After": "5" });
      return;
    }
    const origin = request.headers.origin;
    if (!originAllowed(origin, opts.allowedOrigins)) {
      fail("origin");
      logger.info({ origin }, "handshake refused: origin not allowed");
      refuseUpgrade(socket, 403, "origin not allowed");
      return;
    }
    const address = remoteAddress(request, opts.trustProxy);
    if (registry.load >= limits.maxConnections) {
      fail("max_connections");
      logger.warn({ remote_address: address }, "handshake refused: connection limit reached");
      refuseUpgrade(socket, 503, "connection limit reached", { "Retry-After": "5" });
      return;
    }
    if (registry.countFor(address) >= limits.maxConnectionsPerIp) {
      fail("max_connections_per_ip");
      logger.warn({ remote_address: address }, "handshake refused: per-address limit reached");
      refuseUpgrade(socket, 429, "too many connections from this address", { "Retry-After": "5" });
      return;
    }
    const checked = checkQuery(params, opts.roles);
    const now = clock.now();
    // The client_id's own budget is looked at first, so a client looping on reconnect is
    // turned away (4429) before it spends the handshakes of everyone behind its address. Its
    // bucket is made only once the address admitted the handshake: client_ids an attacker
    // makes up cost memory at the address's rate, not at the rate they are sent.
    const clientKey = checked.ok ? `${address} ${checked.query.clientId}` : undefined;
    const known = clientKey !== undefined && clientHandshakes.has(clientKey);
    const perClient = known ? clientHandshakes.take(clientKey, now) : "ok";
    if (perClient === "ok") {
      const perAddress = addressHandshakes.take(address, now);
      if (perAddress !== "ok") {
        fail("handshake_rate_per_address");
        const fields = { remote_address: address };
        limitReporter.refused(Limit.HandshakesPerAddress, fields, perAddress === "first");
        refuseUpgrade(socket, 429, "too many handshakes from this address", {
          "Retry-After": retryAfter,
        });
        return;
      }
      if (clientKey !== undefined && !known) clientHandshakes.take(clientKey, now);
    }
    // Held until the connection is registered (or refused), so bursts cannot pass the limits.
    const release = registry.reserve(address);
    const requestId = deps.nextId();
    // Built only when a refusal is logged: the token is redacted from the URL first.
    const log = () => ({
      request_id: requestId,
      remote_address: address,
      url: redactUrl(request.url),
    });
    if (!checked.ok) {
      fail(checked.failure);
      const { code, reason } = checked.refusal;
      logger.info({ ...log(), code, reason }, "handshake refused");
      upgradeAndClose(request, socket, head, code, reason, release);
      return;
    }
    const query = checked.query;
    if (perClient !== "ok") {
      fail("handshake_rate_per_client");
      const fields = { remote_address: address, client_id: query.clientId };
      limitReporter.refused(Limit.HandshakesPerClient, fields, perClient === "first");
      const reason = "too many handshakes for this client_id; back off";
      upgradeAndClose(request, socket, head, CloseCode.TooManyConnections, reason, release);
      return;
    }
    const proceedSafely = (principal: Principal): void => {
      try {
        proceed(request, socket, head, query, principal, address, requestId, release);
      } catch (error) {
        release();
        crashed(error, socket);
      }
    };
    if (!opts.authenticate) {
      // No hook: the whole handshake runs synchronously, without a promise per connection.
      proceedSafely(undefined as Principal);
      return;
    }
    authenticate(request, query, address).then(proceedSafely, (error: unknown) => {
      try {
        const refusal = refusalFor(error);
        fail(refusal.failure);
        const unexpected = !(error instanceof AuthError);
        logger[unexpected ? "error" : "info"](
          {
            ...log(),
            client_id: query.clientId,
            code: refusal.code,
            reason: refusal.reason,
            ...(unexpected ? { err: error } : {}),
          },
          "handshake refused",
        );
        upgradeAndClose(request, socket, head, refusal.code, refusal.reason, release);
      } catch (failure) {
        release();
        crashed(failure, socket);
      }
    });
  }

  function proceed(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    query: HandshakeQuery,
    principal: Principal,
    address: string,
    requestId: string,
    release: () => void,
  ): void {
    if (socket.destroyed) {
      fail("gone");
      release();
      return;
    }
    if (ctx.isClosing()) {
      // Shutdown began while authenticate ran: the drain has already taken its list.
      fail("closing");
      refuseUpgrade(socket, 503, "server is shutting down");
      release();
      return;
    }
    const identity = opts.identify(principal);
    const existing = registry.byClient(query.clientId);
    let replaced: Connection | undefined;
    if (existing && !existing.closing) {
      // Only the same principal may take a client_id over (PROTOCOL.md, 4409), else anyone could
      // disconnect a user by guessing their id.
      if (existing.identity !== identity) {
        fail("client_id_taken");
        logger.warn(
          { request_id: requestId, remote_address: address, client_id: query.clientId },
          "handshake refused: client_id held by another principal",
        );
        const reason = "client_id is in use by another principal";
        upgradeAndClose(request, socket, head, CloseCode.Forbidden, reason, release);
        return;
      }
      if (opts.takeover === "reject") {
        fail("client_id_taken");
        const reason = "client_id is already connected";
        upgradeAndClose(request, socket, head, CloseCode.TooManyConnections, reason, release);
        return;
      }
      replaced = existing;
    }
    const userAgent = request.headers["user-agent"];
    websocket.upgrade(request, socket, head, (upgraded: Upgraded | undefined) => {
      release();
      if (!upgraded) {
        fail("upgrade");
        return;
      }
      deps.accept({
        socket: upgraded.socket,
        transport: upgraded.transport,
        attach: websocket.attach,
        query,
        userAgent,
        principal,
        identity,
        remoteAddress: address,
        requestId,
        replaced,
      });
    });
  }

  async function authenticate(
    request: IncomingMessage,
    query: HandshakeQuery,
    address: string,
  ): Promise<Principal> {
    const hook = opts.authenticate;
    if (!hook) return undefined as Principal;
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(new HandshakeTimeout()), limits.handshakeTimeoutMs);
    });
    try {
      const info = {
        clientId: query.clientId,
        role: query.role,
        version: query.version,
        token: query.token,
        remoteAddress: address,
      };
      return await traceAuthenticate(opts.tracer, info, () =>
        Promise.race([Promise.resolve().then(() => hook(request, info)), timeout]),
      );
    } finally {
      clock.clearTimeout(timer);
    }
  }

  function upgradeAndClose(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    code: number,
    reason: string,
    release: () => void,
  ): void {
    websocket.upgrade(request, socket, head, (upgraded) => {
      release();
      if (!upgraded) return;
      bump(counters.closes, String(code));
      websocket.refuse(upgraded.socket, code, truncateCloseReason(reason));
    });
  }

  return onUpgrade;
}

function refusalFor(error: unknown): { code: number; reason: string; failure: string } {
  if (error instanceof AuthError) {
    const failure = error.closeCode === CloseCode.Forbidden ? "forbidden" : "unauthenticated";
    return { code: error.closeCode, reason: error.message, failure };
  }
  if (error instanceof HandshakeTimeout) {
    return { code: CloseCode.HandshakeError, reason: "handshake timed out", failure: "timeout" };
  }
  // The hook's own message may hold internals: the client only learns that it failed.
  return { code: CloseCode.HandshakeError, reason: "handshake failed", failure: "error" };
}
