import type { IncomingMessage } from "node:http";
import { CloseCode } from "@lifeline/protocol";
import type { Connection } from "./connection.js";
import type { ServerContext } from "./context.js";
import { AuthError } from "./errors.js";
import { checkQuery, type HandshakeQuery, originAllowed, remoteAddress } from "./handshake.js";
import { createLimitReporter, Limit } from "./limits.js";
import { redactUrl } from "./logging.js";
import { KeyedBuckets } from "./rate-limit.js";
import { bump } from "./stats.js";
import { traceAuthenticate } from "./tracing.js";
import type { Transport } from "./transport/index.js";

/** A handshake that passed every check, ready to be opened as a connection. */
export interface AdmittedHandshake<Principal> {
  readonly query: HandshakeQuery;
  readonly userAgent: string | undefined;
  readonly principal: Principal;
  readonly identity: string;
  readonly remoteAddress: string;
  readonly requestId: string;
  /** The connection with the same client_id this one takes over, closed 4409 on accept. */
  readonly replaced: Connection | undefined;
}

/** An admitted handshake whose wire is open, ready to become a connection. */
export interface Admitted<Principal> extends AdmittedHandshake<Principal> {
  /** The wire's socket, opaque to all but `transport`. */
  readonly socket: unknown;
  readonly transport: Transport;
  /** Routes the socket's events to the sessions' sink, for `connection`. */
  readonly attach: (connection: Connection) => void;
  /** The secret of an SSE connection's posts, sent in its hello; none on a WebSocket. */
  readonly sseKey?: string;
}

/**
 * How one wire tells the peer what admission decided. The decisions are the same for
 * every wire (PROTOCOL.md, "Connecting: endpoint and handshake"); only the answer differs:
 * the WebSocket endpoint refuses with an HTTP status before the upgrade or closes with a
 * code after it, the SSE endpoint answers the same status or opens its stream and ends it
 * with a close event (PROTOCOL.md, "HTTP fallback (SSE)").
 */
export interface HandshakeAnswer<Principal> {
  /** True once the peer has gone (its socket closed): nothing is opened for it. */
  gone(): boolean;
  /** Refuses before anything opens, with an HTTP status. */
  refuse(status: number, reason: string, headers?: Readonly<Record<string, string>>): void;
  /** Opens and closes at once with `code`; `release` frees the handshake's reservation. */
  close(code: number, reason: string, release: () => void): void;
  /** Opens the connection; `release` frees the reservation once it is registered. */
  accept(handshake: AdmittedHandshake<Principal>, release: () => void): void;
  /** The handshake failed unexpectedly: the peer is dropped without an answer. */
  drop(): void;
}

/** Decides one handshake and tells `answer` the outcome. Never throws. */
export type Admit<Principal> = (
  request: IncomingMessage,
  params: ReadonlyMap<string, string>,
  answer: HandshakeAnswer<Principal>,
) => void;

class HandshakeTimeout extends Error {
  override readonly name = "HandshakeTimeout";
}

/**
 * Admission of every handshake, whatever the wire (PROTOCOL.md, "Connecting: endpoint and
 * handshake"), in one order: shutdown and broker outage (503), Origin (403), the global
 * limit (503), the per-address limit and handshake rate (429); then, told with a close
 * code, the query (4400, 4401), the client_id's handshake rate (4429), `authenticate`
 * (4401, 4403, 4500) and the takeover rules (4403, 4429). One set of buckets serves every
 * wire, so a client cannot double its budget by alternating WebSocket and SSE.
 */
export function createAdmission<Principal>(
  ctx: ServerContext<Principal>,
  nextId: () => string,
): Admit<Principal> {
  const { opts, logger, counters, registry } = ctx;
  const { clock, limits } = opts;

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

  function crashed(error: unknown, answer: HandshakeAnswer<Principal>): void {
    fail("error");
    logger.error({ err: error }, "handshake crashed");
    answer.drop();
  }

  /**
   * The first checks, answered before anything opens. Returns the client's address when
   * they all passed.
   */
  function screen(
    request: IncomingMessage,
    answer: HandshakeAnswer<Principal>,
  ): string | undefined {
    if (ctx.isClosing()) {
      fail("closing");
      answer.refuse(503, "server is shutting down");
      return undefined;
    }
    if (!ctx.isServing()) {
      // The broker is down: another node can serve this client, this one cannot.
      fail("broker_unavailable");
      answer.refuse(503, "message broker unavailable", { "Retry-After": "5" });
      return undefined;
    }
    const origin = request.headers.origin;
    if (!originAllowed(origin, opts.allowedOrigins)) {
      fail("origin");
      logger.info({ origin }, "handshake refused: origin not allowed");
      answer.refuse(403, "origin not allowed");
      return undefined;
    }
    const address = remoteAddress(request, opts.trustProxy);
    if (registry.load >= limits.maxConnections) {
      fail("max_connections");
      logger.warn({ remote_address: address }, "handshake refused: connection limit reached");
      answer.refuse(503, "connection limit reached", { "Retry-After": "5" });
      return undefined;
    }
    if (registry.countFor(address) >= limits.maxConnectionsPerIp) {
      fail("max_connections_per_ip");
      logger.warn({ remote_address: address }, "handshake refused: per-address limit reached");
      answer.refuse(429, "too many connections from this address", { "Retry-After": "5" });
      return undefined;
    }
    return address;
  }

  function admit(
    request: IncomingMessage,
    params: ReadonlyMap<string, string>,
    answer: HandshakeAnswer<Principal>,
  ): void {
    try {
      decide(request, params, answer);
    } catch (error) {
      crashed(error, answer);
    }
  }

  function decide(
    request: IncomingMessage,
    params: ReadonlyMap<string, string>,
    answer: HandshakeAnswer<Principal>,
  ): void {
    const address = screen(request, answer);
    if (address === undefined) return;
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
        answer.refuse(429, "too many handshakes from this address", {
          "Retry-After": retryAfter,
        });
        return;
      }
      if (clientKey !== undefined && !known) clientHandshakes.take(clientKey, now);
    }
    // Held until the connection is registered (or refused), so bursts cannot pass the limits.
    const release = registry.reserve(address);
    const requestId = nextId();
    if (!checked.ok) {
      fail(checked.failure);
      const { code, reason } = checked.refusal;
      logger.info(
        { ...refusalLog(request, requestId, address), code, reason },
        "handshake refused",
      );
      answer.close(code, reason, release);
      return;
    }
    const query = checked.query;
    if (perClient !== "ok") {
      fail("handshake_rate_per_client");
      const fields = { remote_address: address, client_id: query.clientId };
      limitReporter.refused(Limit.HandshakesPerClient, fields, perClient === "first");
      const reason = "too many handshakes for this client_id; back off";
      answer.close(CloseCode.TooManyConnections, reason, release);
      return;
    }
    const pending: Pending<Principal> = { request, query, address, requestId, release, answer };
    if (!opts.authenticate) {
      // No hook: the whole handshake runs synchronously, without a promise or a closure per
      // connection.
      proceedSafely(pending, undefined as Principal);
      return;
    }
    const proceedWith = (principal: Principal): void => proceedSafely(pending, principal);
    authenticate(request, query, address).then(proceedWith, (error: unknown) => {
      try {
        const refusal = refusalFor(error);
        fail(refusal.failure);
        const unexpected = !(error instanceof AuthError);
        logger[unexpected ? "error" : "info"](
          {
            ...refusalLog(request, requestId, address),
            client_id: query.clientId,
            code: refusal.code,
            reason: refusal.reason,
            ...(unexpected ? { err: error } : {}),
          },
          "handshake refused",
        );
        answer.close(refusal.code, refusal.reason, release);
      } catch (failure) {
        release();
        crashed(failure, answer);
      }
    });
  }

  function proceedSafely(pending: Pending<Principal>, principal: Principal): void {
    try {
      proceed(pending, principal);
    } catch (error) {
      pending.release();
      crashed(error, pending.answer);
    }
  }

  function proceed(pending: Pending<Principal>, principal: Principal): void {
    const { request, query, address, requestId, release, answer } = pending;
    if (answer.gone()) {
      fail("gone");
      release();
      return;
    }
    if (ctx.isClosing()) {
      // Shutdown began while authenticate ran: the drain has already taken its list.
      fail("closing");
      answer.refuse(503, "server is shutting down");
      release();
      return;
    }
    const identity = opts.identify(principal);
    const existing = registry.byClient(query.clientId);
    let replaced: Connection | undefined;
    // A connection whose peer already started closing it (its close frame has arrived, as
    // when a client reconnects under a new identity) holds its client_id only until its
    // socket is gone: it is not a session to protect from a takeover.
    if (existing && !existing.closing && existing.transport.isOpen(existing)) {
      // Only the same principal may take a client_id over (PROTOCOL.md, 4409), else anyone could
      // disconnect a user by guessing their id.
      if (existing.identity !== identity) {
        fail("client_id_taken");
        logger.warn(
          { request_id: requestId, remote_address: address, client_id: query.clientId },
          "handshake refused: client_id held by another principal",
        );
        answer.close(CloseCode.Forbidden, "client_id is in use by another principal", release);
        return;
      }
      if (opts.takeover === "reject") {
        fail("client_id_taken");
        answer.close(CloseCode.TooManyConnections, "client_id is already connected", release);
        return;
      }
      replaced = existing;
    }
    const handshake: AdmittedHandshake<Principal> = {
      query,
      userAgent: request.headers["user-agent"],
      principal,
      identity,
      remoteAddress: address,
      requestId,
      replaced,
    };
    answer.accept(handshake, release);
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

  return admit;
}

/** A handshake between its checks and its outcome (waiting for `authenticate`). */
interface Pending<Principal> {
  readonly request: IncomingMessage;
  readonly query: HandshakeQuery;
  readonly address: string;
  readonly requestId: string;
  readonly release: () => void;
  readonly answer: HandshakeAnswer<Principal>;
}

/** The fields of a refusal's log line, built only when one is logged: the token is redacted. */
function refusalLog(request: IncomingMessage, requestId: string, address: string) {
  return { request_id: requestId, remote_address: address, url: redactUrl(request.url) };
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
