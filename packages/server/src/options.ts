import type { Server as HttpServer, IncomingMessage } from "node:http";
import type { Contract, ContractSpec } from "@lifeline/protocol";
import type { LoggerOptions } from "pino";
import type { Broker, HistoryOptions } from "./broker.js";
import { type Clock, systemClock } from "./clock.js";
import { LifelineServerError, ServerErrorCode } from "./errors.js";
import type { ServerLogger } from "./logging.js";
import type { MetricsOptions } from "./metrics.js";
import { defaultTracer, type Tracer } from "./tracing.js";

/** What `authorize` is asked about. */
export type TopicAction = "subscribe" | "publish";

/** What `authorize` is told besides the principal, the topic and the action. */
export interface TopicAccess {
  /**
   * The `role` the client connected with. The client chose it; it proves something only
   * when `authenticate` checks it against the credentials.
   */
  readonly role: string;
  /** The client's `client_id`. */
  readonly clientId: string;
  /**
   * What the server would decide without the hook (PROTOCOL.md, "Who may publish and
   * subscribe"): a publish only where the contract's `publish` rule lets this role; a
   * subscribe to any topic, or with a contract to the topics it declares. Return it to
   * keep the defaults and add rules of your own.
   */
  readonly byDefault: boolean;
}

/** How a second connection with a client_id that is already connected is handled. */
export type TakeoverPolicy = "replace" | "reject";

/** How the server finds dead connections (PROTOCOL.md, "Liveness"). */
export interface HeartbeatOptions {
  /**
   * How often the server sends a ping frame and an app `{type:"ping"}`, in milliseconds.
   * Announced to the client in `hello.heartbeat_interval_ms`. 0 disables heartbeats.
   * One sweep timer serves every connection, so pings and terminations come at most
   * `intervalMs / 25` (clamped to 10 ms - 1 s) late.
   * @default 25000
   */
  readonly intervalMs?: number;
  /**
   * Extra silence tolerated after an interval before the connection is terminated, in
   * milliseconds: a client silent for `intervalMs + timeoutMs` is dropped.
   * @default 20000
   */
  readonly timeoutMs?: number;
}

/** A connection's message rate limit, as a token bucket. */
export interface RateOptions {
  /**
   * Messages per second a connection may send on average (token bucket refill rate).
   * @default 100
   */
  readonly perSecond?: number;
  /**
   * Messages a connection may send in a burst (bucket size).
   * @default 200
   */
  readonly burst?: number;
}

/** When repeated bad input closes a connection with 1008. */
export interface AbuseOptions {
  /**
   * Invalid or rate-limited messages tolerated within `windowMs` before the connection is
   * closed with 1008.
   * @default 50
   */
  readonly maxViolations?: number;
  /**
   * Window the violations are counted in, in milliseconds.
   * @default 10000
   */
  readonly windowMs?: number;
}

/**
 * How fast handshakes may come, as token buckets: per remote address (refused with HTTP 429
 * before the upgrade) and per client_id from one address (closed 4429 after it, so a
 * browser sees the code and backs off harder). Either stops one client's reconnect loop
 * from using up the handshakes its neighbours behind the same address need.
 */
export interface HandshakeRateOptions {
  /**
   * Handshakes per second one remote address may open on average. With the default a whole
   * address's worth of connections can be reopened every ten seconds, the width of the
   * shutdown spread. Infinity (with `perAddressBurst`) for no limit.
   * @default maxConnectionsPerIp / 10 (10)
   */
  readonly perAddressPerSecond?: number;
  /**
   * Handshakes one remote address may open at once: twice `maxConnectionsPerIp`, so every
   * connection behind one address (a NAT, a page with many tabs) can reconnect after a
   * restart and again a moment later. Infinity for no limit.
   * @default 2 * maxConnectionsPerIp (200)
   */
  readonly perAddressBurst?: number;
  /**
   * Handshakes per second one client_id may open from one address on average. A client on
   * the default backoff (1 s doubling) or on one from 0.5 s stays far below it.
   * @default 1
   */
  readonly perClientPerSecond?: number;
  /**
   * Handshakes one client_id may open at once from one address: room for every attempt of
   * a 10-attempt backoff even if jitter made them all immediate. Infinity for no limit.
   * @default 20
   */
  readonly perClientBurst?: number;
}

/** When `publishDelta` sends a key's whole state instead of its changes. */
export interface DeltaOptions {
  /**
   * One message in this many of a key is its full state (the first always is; at most
   * `fullEvery - 1` deltas come between two), so a subscriber that joined without
   * `rewind` on an unconflated topic, or after a gap, rebuilds the key within that many
   * messages. 1 sends only full states.
   * @default 20
   */
  readonly fullEvery?: number;
  /**
   * A full state when the key's last one is older than this, in milliseconds, whatever
   * the count.
   * @default 30000
   */
  readonly fullIntervalMs?: number;
  /**
   * Most keys whose state `publishDelta` keeps (over all topics). A new key past it is
   * refused (`LIFELINE_DELTA_KEY_LIMIT`): forgetting a state would make the key's next
   * full state miss what it held. `forgetDelta` drops the keys that are gone.
   * @default 10000
   */
  readonly maxKeys?: number;
}

/** What one connection, one address and the whole server may hold; each limit with its answer. */
export interface LimitOptions {
  /**
   * Largest accepted frame in bytes; a bigger one closes the connection with 1009.
   * @default 1048576
   */
  readonly maxPayload?: number;
  /**
   * Most simultaneous connections (handshakes in progress included); more are refused
   * with HTTP 503 before the upgrade. Infinity for no limit.
   * @default 10000
   */
  readonly maxConnections?: number;
  /**
   * Most simultaneous connections from one remote address; more are refused with HTTP 429
   * before the upgrade. Infinity for no limit.
   * @default 100
   */
  readonly maxConnectionsPerIp?: number;
  /** Per-connection message rate limit; excess messages are answered `rate_limited`. */
  readonly rate?: RateOptions;
  /** How fast one address and one client_id may open handshakes. */
  readonly handshakeRate?: HandshakeRateOptions;
  /**
   * Most topics one connection may be subscribed to at once. A subscribe past it is
   * answered `limit_exceeded` (final: the client does not ask again) and the connection
   * is kept. Infinity for no limit.
   * @default 1000
   */
  readonly maxSubscriptionsPerConnection?: number;
  /**
   * Most requests one connection may have waiting for their handler at once (each holds a
   * timer and a promise until it is answered or `requestTimeoutMs` passes). A request past
   * it is answered `rate_limited`. Infinity for no limit.
   * @default 100
   */
  readonly maxPendingRequestsPerConnection?: number;
  /**
   * Largest `rewind` a `subscribe` may ask for (PROTOCOL.md, "Start positions"): a bigger
   * one is answered `invalid_message` and the connection is kept. Set it to the broker's
   * history limit when `broker` is given, so that a client is told when it asks for more
   * than can ever be replayed rather than silently getting less.
   * @default history.maxMessages (1000)
   */
  readonly maxRewind?: number;
  /**
   * Most messages one `history` page may ask for (PROTOCOL.md, "History"). A larger
   * `limit` is answered `invalid_message` and the connection is kept; the client pages
   * with `next` instead. Bounds the size of one answer, which is built in one piece.
   * @default 100
   */
  readonly maxHistoryPage?: number;
  /**
   * Most topics the default memory broker holds at once (ignored when `broker` is given).
   * A subscribe or publish that would create one more is answered `overloaded`; existing
   * topics work on. A topic costs about 1.1 KiB with one small retained message and its
   * publish's dedupe record, plus what more messages retain (docs/reliability.md).
   * Infinity for no limit.
   * @default 100000
   */
  readonly maxTopics?: number;
  /** When repeated bad input closes a connection with 1008. */
  readonly abuse?: AbuseOptions;
  /**
   * Bytes a connection may have queued for sending before it is treated as a slow
   * consumer and closed with 1013 (it resumes from history when it reconnects).
   * @default 4194304
   */
  readonly highWaterMark?: number;
  /**
   * Bytes a connection may have queued before its subscriptions to conflated topics stop
   * taking every message (PROTOCOL.md, "Conflation"): once half of it is left they get the
   * latest message of each key they skipped, and the connection is not closed for them.
   * Keep it well below `highWaterMark`.
   * @default 262144
   */
  readonly conflateHighWaterMark?: number;
  /**
   * Time a client has to send the upgrade request's headers and get through
   * `authenticate`, in milliseconds (Node's own default is 60 s). An attached `server`
   * gets its `headersTimeout` lowered to this; Node enforces it every
   * `connectionsCheckingInterval` (30 s unless that server was created with less).
   * @default 10000
   */
  readonly handshakeTimeoutMs?: number;
  /**
   * Longest a method handler may run, in milliseconds; a request's `timeout_ms` is capped
   * by it.
   * @default 30000
   */
  readonly requestTimeoutMs?: number;
  /**
   * Window in which a client publish id is remembered, so a retried publish is
   * acknowledged again and not appended twice, in milliseconds (memory broker).
   * @default 300000
   */
  readonly dedupeWindowMs?: number;
}

/** The HTTP fallback's settings. */
export interface SseOptions {
  /**
   * Path of the event stream; posts go to `<path>/send`.
   * @default the sibling "sse" of the WebSocket `path` (`/ws` -> `/sse`)
   */
  readonly path?: string;
}

/** permessage-deflate settings (RFC 7692). */
export interface PerMessageDeflateOptions {
  /**
   * Messages smaller than this many bytes are sent uncompressed.
   * @default 1024
   */
  readonly threshold?: number;
}

/** The status endpoint, `GET /api/websocket/status`. */
export interface StatusOptions {
  /**
   * Serves `GET /api/websocket/status` (per-connection details). Off by default because it
   * lists remote addresses and client ids.
   * @default false
   */
  readonly enabled?: boolean;
  /**
   * Extra guard for the status endpoint: return false to answer 403.
   * @default undefined (allowed when enabled)
   */
  readonly authorize?: (request: IncomingMessage) => boolean | Promise<boolean>;
}

/** How `close()` drains: the reason, the reconnect spread and the pacing. */
export interface ShutdownOptions {
  /**
   * Why the server closes, sent in `shutdown` and as the 1012 close reason.
   * @default "server restarting"
   */
  readonly reason?: string;
  /**
   * Smallest `reconnect_after_ms` a client is told, in milliseconds.
   * @default 1000
   */
  readonly reconnectAfterMs?: number;
  /**
   * Width of the window over which clients' `reconnect_after_ms` values are spread, in
   * milliseconds; each client gets `reconnectAfterMs + random * spreadMs`.
   * @default 10000
   */
  readonly spreadMs?: number;
  /**
   * Connections closed per batch.
   * @default 500
   */
  readonly batchSize?: number;
  /**
   * Pause between batches, in milliseconds.
   * @default 50
   */
  readonly batchIntervalMs?: number;
  /**
   * Longest wait for clients to finish their close handshake (send buffers drained) after
   * the last batch, in milliseconds; the rest are terminated.
   * @default 5000
   */
  readonly drainTimeoutMs?: number;
}

/** Presence settings besides which topics keep it (PROTOCOL.md, "Presence"). */
export interface PresenceOptions {
  /** Topics whose presence the server keeps: every subscriber is then a member. */
  readonly topics: (topic: string) => boolean;
  /**
   * How long a member whose last connection closed (or was found dead by the heartbeat)
   * stays, in milliseconds: a client back within it never left, so nobody sees it leave
   * and join again. Any close counts, a normal one (1000) too: the client's `reconnect()`
   * sends it. An `unsubscribe` leaves at once.
   * @default 5000
   */
  readonly graceMs?: number;
  /**
   * How often joins and leaves are sent as `presence_diff`s, in milliseconds: every change
   * of one interval goes out as one diff per topic (several past 500 members), so a storm
   * of reconnects costs each watcher a few messages, not one per client.
   * @default 100
   */
  readonly diffIntervalMs?: number;
  /**
   * Most members a `presence` answer lists; its `count` is always the full number.
   * @default 10000
   */
  readonly maxMembers?: number;
}

/**
 * What a node does when its broker stays unhealthy (Redis unreachable, partitioned off):
 * it cannot deliver or append, so rather than hold clients it cannot serve, it refuses new
 * upgrades (HTTP 503) and closes its clients (`shutdown`, then 1012) so that clients with
 * several URLs move to a node that can; it accepts again once the broker is healthy.
 * Only brokers with `onHealthChange` (the Redis broker) are watched.
 */
export interface BrokerOutageOptions {
  /**
   * How long the broker may stay unhealthy before the node stops serving, in
   * milliseconds: long enough to ride out a Sentinel fail-over or a Redis restart without
   * moving anyone. Infinity keeps clients connected however long it lasts.
   * @default 5000
   */
  readonly closeAfterMs?: number;
  /**
   * Smallest `reconnect_after_ms` the closed clients are told, in milliseconds.
   * @default 0
   */
  readonly reconnectAfterMs?: number;
  /**
   * Window the clients' `reconnect_after_ms` values are spread over, in milliseconds, so
   * the other nodes are not hit by every client in the same instant.
   * @default 1000
   */
  readonly spreadMs?: number;
}

/** Everything `authenticate` needs to decide; the token never reaches the logs. */
export interface HandshakeInfo {
  /** The `client_id` query parameter, checked. */
  readonly clientId: string;
  /** The `role` query parameter, one of `roles`. */
  readonly role: string;
  /** The protocol version, 1. */
  readonly version: number;
  /** The `token` query parameter, when present. */
  readonly token: string | undefined;
  /** The client's address (from `X-Forwarded-For` behind a trusted proxy). */
  readonly remoteAddress: string;
}

/** What the `refresh` hook is told besides the new token. */
export interface RefreshInfo<Principal> {
  /** The principal the connection holds now. */
  readonly principal: Principal;
  /** The client's `client_id`. */
  readonly clientId: string;
  /** The role the client connected with. */
  readonly role: string;
  /** The connection's id, as in `hello.connection_id`. */
  readonly connectionId: string;
  /** The client's address (from `X-Forwarded-For` behind a trusted proxy). */
  readonly remoteAddress: string;
}

/**
 * Credentials that expire and are replaced in band (PROTOCOL.md, "Credentials in band"),
 * without the client reconnecting.
 */
export interface CredentialOptions<Principal> {
  /**
   * Checks the token of a `refresh` message and returns the connection's new principal, or
   * throws an `AuthError` (answered `unauthorized`; the connection keeps its old
   * credentials until they expire). The new principal must have the same identity
   * (`identify`) as the current one, else the refresh is answered `unauthorized`: a
   * connection never changes user. After it, every subscription is authorised again.
   * With it, `hello.features` announces `refresh`.
   * @default undefined (`refresh` is answered `unknown_type`)
   */
  readonly refresh?: (
    token: string,
    info: RefreshInfo<Principal>,
  ) => Principal | Promise<Principal>;
  /**
   * When a principal's credentials expire, in milliseconds since the Unix epoch, or
   * undefined for never (e.g. a JWT's `exp * 1000`). Asked after `authenticate` and after
   * every refresh. The server sends `token_expiring` `noticeMs` before, and closes the
   * connection with 4401 at that time unless a refresh replaced the credentials.
   * @default undefined (credentials never expire)
   */
  readonly expiresAt?: (principal: Principal) => number | undefined;
  /**
   * How long before expiry `token_expiring` is sent, in milliseconds: the client's time to
   * get a new token. Credentials that expire sooner are announced at once.
   * @default 30000
   */
  readonly noticeMs?: number;
}

/** Session bookkeeping for direct messages and `sessions()`. */
export interface SessionOptions {
  /**
   * How long a closed session still receives direct messages in its inbox, in
   * milliseconds: a client that reconnects within it finds them there (PROTOCOL.md,
   * "Direct messages"). Used by the server's own directory; a broker with a session
   * directory (`@lifeline/redis`) has its own setting.
   * @default history.maxAgeMs (300000), the longest an inbox keeps a message anyway
   */
  readonly lingerMs?: number;
}

/** Options of `createServer`; every one has a default. */
export interface ServerOptions<Principal = unknown, S extends ContractSpec = ContractSpec> {
  /**
   * Port to listen on (0 for any free one). Ignored when `server` is given.
   * @default 0 when neither `port` nor `server` is given
   */
  readonly port?: number;
  /**
   * Interface to listen on when the server owns its HTTP server.
   * @default "127.0.0.1"
   */
  readonly host?: string;
  /**
   * An existing HTTP server to attach to, so one port serves HTTP and WebSocket. The
   * server's `request` handlers stay the application's; use `handleHttp` to mount the
   * health/status/metrics endpoints. Upgrades for other paths are left to the
   * application's other `upgrade` listeners (answered 404 when there are none).
   * @default undefined (the server creates and owns one)
   */
  readonly server?: HttpServer;
  /**
   * Neither listen nor attach: the application hands every upgrade request to
   * `handleUpgrade(request, socket, head)` and mounts `handleHttp`, for frameworks that own
   * the HTTP server and its `upgrade` event (a Next.js custom server, several WebSocket
   * endpoints on one server). The handshake is admitted exactly as on a server of its
   * own. The application's server should answer slow request headers itself: set its
   * `headersTimeout` to `limits.handshakeTimeoutMs`. Excludes `server` and `port`;
   * `port` and `address()` then throw `LIFELINE_INVALID_OPTIONS`.
   * @default false
   */
  readonly noServer?: boolean;
  /**
   * Path of the WebSocket endpoint.
   * @default "/ws"
   */
  readonly path?: string;
  /**
   * The HTTP fallback (PROTOCOL.md, "HTTP fallback (SSE)") for clients whose WebSocket
   * upgrade a proxy or firewall blocks: `GET <path>` streams server messages as
   * server-sent events and `POST <path>/send` carries the client's. Admission (Origin,
   * limits, `authenticate`, takeover), rate limits, heartbeats and shutdown are the
   * WebSocket endpoint's. `path` defaults to the sibling `sse` of `path` (`/ws` -> `/sse`,
   * `/api/ws` -> `/api/sse`). On the server's own port the routes are served as they are;
   * with `server` or `noServer` they are part of `handleHttp`, so mount it. `false` turns
   * the fallback off: the routes answer nothing and `hello.features` lacks `sse`.
   * @default { path: the sibling "sse" of `path` }
   */
  readonly sse?: false | SseOptions;
  /**
   * Typed topics and methods; publishes and method params are validated against it. It
   * also types the server: `method(name, handler)` takes only the contract's method names,
   * hands the handler its params type and checks its return against the result type, and
   * `publish(topic, data)` takes only topics the contract declares (names, or names a
   * `*` pattern matches) with that topic's data type.
   * @default undefined (any topic, any method; params and data are `unknown`)
   */
  readonly contract?: Contract<S>;
  /**
   * Fan-out and history. A broker given here is not closed by `server.close()`.
   * @default createMemoryBroker({ history })
   */
  readonly broker?: Broker;
  /**
   * Retention of the default memory broker (ignored when `broker` is given).
   * @default { maxMessages: 1000, maxAgeMs: 300000, maxConflatedKeys: 10000 }
   */
  readonly history?: HistoryOptions;
  /** How `publishDelta` spaces full states between deltas. */
  readonly deltas?: DeltaOptions;
  /**
   * Decides who connects. Return the principal (any value), or throw an `AuthError`
   * (close 4401 by default, 4403 for forbidden). Any other error closes 4500.
   * @default undefined (every client is accepted with principal `undefined`)
   */
  readonly authenticate?: (
    request: IncomingMessage,
    handshake: HandshakeInfo,
  ) => Principal | Promise<Principal>;
  /**
   * Presence (PROTOCOL.md, "Presence"): on the topics this function accepts, every
   * subscriber is a member, counted once per client_id with its `user` (the identity of
   * its principal, see `identify`; none without `authenticate`, and never a token); a
   * `presence` message lists them and a subscribe with `presence: true` gets their joins
   * and leaves as `presence_diff`s. Announced as the `presence` feature. With a broker
   * that keeps presence (the memory broker, `@lifeline/redis`) every node sees the same
   * members. Pass `PresenceOptions` to tune the grace period and the diff interval.
   * @default undefined (no topic has presence)
   */
  readonly presence?: ((topic: string) => boolean) | PresenceOptions;
  /**
   * Decides whether a client may subscribe to or publish on a topic; when given, its
   * answer is final (false is answered `forbidden` and the connection stays). It never
   * sees the server's own `publish()`, which is always allowed.
   * @default undefined: a client publish only where the contract's topic `publish` rule
   *   allows it (never without a contract), so a topic nobody opened cannot be forged;
   *   a subscribe to any topic, or with a contract to the topics it declares
   */
  readonly authorize?: (
    principal: Principal,
    topic: string,
    action: TopicAction,
    access: TopicAccess,
  ) => boolean | Promise<boolean>;
  /**
   * A stable identity of a principal, compared when a client_id is taken over: only the
   * same identity may replace a connection.
   * @default string principals as is, objects by their `id` or `sub`, else "anonymous"
   */
  readonly identify?: (principal: Principal) => string;
  /**
   * What happens when a client_id that is already connected connects again (same
   * identity): `replace` closes the older with 4409, `reject` closes the newer with 4429.
   * @default "replace"
   */
  readonly takeover?: TakeoverPolicy;
  /**
   * Roles accepted in the `role` query parameter; others close with 4401.
   * @default ["frontend", "admin", "test"]
   */
  readonly roles?: readonly string[];
  /**
   * Allowed `Origin` header values; other origins get HTTP 403 before the upgrade.
   * Requests without an Origin (non-browser clients) are allowed.
   * @default undefined (any origin)
   */
  readonly allowedOrigins?: readonly string[] | ((origin: string) => boolean);
  /**
   * Take the client's address from `X-Forwarded-For` when the direct peer is one of these
   * addresses (`true` trusts any peer, for a server only reachable through its proxy).
   * @default false
   */
  readonly trustProxy?: boolean | readonly string[];
  /** How dead connections are found; see `HeartbeatOptions` for the defaults. */
  readonly heartbeat?: HeartbeatOptions;
  /** What a connection, an address and the server may hold; see `LimitOptions` for the defaults. */
  readonly limits?: LimitOptions;
  /**
   * permessage-deflate (RFC 7692). Off by default: it costs CPU and memory per
   * connection, and broadcasts can no longer be framed once for all recipients.
   * @default false
   */
  readonly perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** The status endpoint; off by default (see `StatusOptions`). */
  readonly status?: StatusOptions;
  /**
   * Where the server logs: a pino logger (a child keeps the application's bindings), any
   * logger with pino's `debug`/`info`/`warn`/`error(fields, message)` methods (bunyan, or an
   * adapter), pino options for a pino of the server's own, or `false` for none. Connections
   * are logged at `debug` (accepted, closed, replaced), refused handshakes at `info`, and
   * what needs attention (unexpected closes, failed deliveries, limits) at `warn`.
   * @default pino at "warn", with tokens, cookies and Authorization headers redacted
   */
  readonly logger?: ServerLogger | LoggerOptions | false;
  /**
   * Prometheus metrics: `registry` to register them in the application's prom-client
   * registry (one scrape for both), `prefix` for their names.
   * @default { registry: a registry of the server's own, prefix: "lifeline_" }
   */
  readonly metrics?: MetricsOptions;
  /**
   * OpenTelemetry tracer for the spans of handshakes (`lifeline.handshake`, around
   * `authenticate`), requests (`lifeline.rpc <method>`, active while the handler runs, so
   * its own spans nest) and the server's `publish()` (`lifeline.publish`).
   * @default the global tracer of `@opentelemetry/api`: no spans until the application
   *   registers an OpenTelemetry SDK
   */
  readonly tracer?: Tracer;
  /** Credentials that expire, and their in-band refresh. */
  readonly credentials?: CredentialOptions<Principal>;
  /** Sessions kept for direct messages and `sessions()`. */
  readonly sessions?: SessionOptions;
  /**
   * Features announced in `hello.features`.
   * @default ["topics", "resume", "rpc", "heartbeat", "rewind", "history", "inbox",
   *   "conflation", "msgpack"], and "refresh" when `credentials.refresh` is given, "presence" when
   *   `presence` is given, "sse" unless `sse` is false
   */
  readonly features?: readonly string[];
  /** Defaults for `close()` when called without options. */
  readonly shutdown?: ShutdownOptions;
  /** What the node does while its broker is unhealthy (see `BrokerOutageOptions`). */
  readonly brokerOutage?: BrokerOutageOptions;
  /**
   * Time source for heartbeats, rate limits, timeouts and shutdown pacing.
   * @default the system clock
   */
  readonly clock?: Clock;
  /**
   * Random numbers in [0, 1), used to spread `reconnect_after_ms`.
   * @default Math.random
   */
  readonly random?: () => number;
}

export const defaults = {
  host: "127.0.0.1",
  path: "/ws",
  takeover: "replace" as TakeoverPolicy,
  roles: ["frontend", "admin", "test"] as readonly string[],
  features: [
    "topics",
    "resume",
    "rpc",
    "heartbeat",
    "rewind",
    "history",
    "inbox",
    "conflation",
    "msgpack",
  ] as readonly string[],
  credentialNoticeMs: 30_000,
  presence: { graceMs: 5000, diffIntervalMs: 100, maxMembers: 10_000 },
  heartbeat: { intervalMs: 25_000, timeoutMs: 20_000 },
  limits: {
    maxPayload: 1024 * 1024,
    maxConnections: 10_000,
    maxConnectionsPerIp: 100,
    rate: { perSecond: 100, burst: 200 },
    perClientHandshakes: { perSecond: 1, burst: 20 },
    maxSubscriptionsPerConnection: 1000,
    maxPendingRequestsPerConnection: 100,
    maxHistoryPage: 100,
    maxTopics: 100_000,
    abuse: { maxViolations: 50, windowMs: 10_000 },
    highWaterMark: 4 * 1024 * 1024,
    conflateHighWaterMark: 256 * 1024,
    handshakeTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    dedupeWindowMs: 300_000,
  },
  history: { maxMessages: 1000, maxAgeMs: 300_000, maxConflatedKeys: 10_000 },
  deltas: { fullEvery: 20, fullIntervalMs: 30_000, maxKeys: 10_000 },
  shutdown: {
    reason: "server restarting",
    reconnectAfterMs: 1000,
    spreadMs: 10_000,
    batchSize: 500,
    batchIntervalMs: 50,
    drainTimeoutMs: 5000,
  },
  brokerOutage: { closeAfterMs: 5000, reconnectAfterMs: 0, spreadMs: 1000 },
  deflateThreshold: 1024,
} as const;

export type ResolvedShutdown = Required<ShutdownOptions>;

/** Options with every default applied, computed once at the top of `createServer`. */
export interface ResolvedOptions<Principal> {
  readonly port: number | undefined;
  readonly host: string;
  readonly server: HttpServer | undefined;
  readonly noServer: boolean;
  readonly path: string;
  /** The HTTP fallback's stream path, or false when it is off. */
  readonly sse: false | { readonly path: string };
  readonly contract: Contract | undefined;
  readonly broker: Broker | undefined;
  readonly history: Required<HistoryOptions>;
  readonly deltas: Required<DeltaOptions>;
  readonly authenticate: ServerOptions<Principal>["authenticate"];
  readonly authorize: ServerOptions<Principal>["authorize"];
  /** undefined when no topic has presence. */
  readonly presence: Required<PresenceOptions> | undefined;
  readonly identify: (principal: Principal) => string;
  readonly takeover: TakeoverPolicy;
  readonly roles: readonly string[];
  readonly allowedOrigins: ServerOptions["allowedOrigins"];
  readonly trustProxy: boolean | readonly string[];
  readonly heartbeat: Required<HeartbeatOptions>;
  readonly limits: {
    readonly maxPayload: number;
    readonly maxConnections: number;
    readonly maxConnectionsPerIp: number;
    readonly rate: Required<RateOptions>;
    readonly handshakeRate: Required<HandshakeRateOptions>;
    readonly maxSubscriptionsPerConnection: number;
    readonly maxPendingRequestsPerConnection: number;
    readonly maxRewind: number;
    readonly maxHistoryPage: number;
    readonly maxTopics: number;
    readonly abuse: Required<AbuseOptions>;
    readonly highWaterMark: number;
    readonly conflateHighWaterMark: number;
    readonly handshakeTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly dedupeWindowMs: number;
  };
  /** false, or the deflate threshold in bytes. */
  readonly deflate: false | { readonly threshold: number };
  readonly status: { readonly enabled: boolean; readonly authorize: StatusOptions["authorize"] };
  readonly logger: ServerOptions["logger"];
  readonly metrics: MetricsOptions;
  readonly tracer: Tracer;
  readonly features: readonly string[];
  readonly credentials: {
    readonly refresh: CredentialOptions<Principal>["refresh"];
    readonly expiresAt: CredentialOptions<Principal>["expiresAt"];
    readonly noticeMs: number;
  };
  readonly sessions: { readonly lingerMs: number };
  readonly shutdown: ResolvedShutdown;
  readonly brokerOutage: Required<BrokerOutageOptions>;
  readonly clock: Clock;
  readonly random: () => number;
}

/** Default identity: strings as is, objects by `id` or `sub`, anything else anonymous. */
export function defaultIdentify(principal: unknown): string {
  if (typeof principal === "string") return principal;
  if (typeof principal === "object" && principal !== null) {
    const record = principal as Record<string, unknown>;
    if (typeof record.id === "string" || typeof record.id === "number") return String(record.id);
    if (typeof record.sub === "string") return record.sub;
  }
  return "anonymous";
}

function checkNoServer<Principal>(options: ServerOptions<Principal>): boolean {
  const noServer = options.noServer ?? false;
  if (noServer && (options.server !== undefined || options.port !== undefined)) {
    const given = options.server !== undefined ? "server" : "port";
    throw new LifelineServerError(
      ServerErrorCode.InvalidOptions,
      `noServer excludes "${given}": the application's HTTP server hands upgrades to handleUpgrade`,
    );
  }
  return noServer;
}

export function resolveOptions<Principal>(
  options: ServerOptions<Principal>,
): ResolvedOptions<Principal> {
  const limits = options.limits ?? {};
  const maxConnectionsPerIp = limits.maxConnectionsPerIp ?? defaults.limits.maxConnectionsPerIp;
  const handshakeRate = limits.handshakeRate ?? {};
  const deflate = options.perMessageDeflate ?? false;
  const history = { ...defaults.history, ...options.history };
  const path = options.path ?? defaults.path;
  const sse = resolveSse(options.sse, path);
  return {
    port: options.port,
    host: options.host ?? defaults.host,
    server: options.server,
    noServer: checkNoServer(options),
    path,
    sse,
    contract: options.contract,
    broker: options.broker,
    history,
    deltas: { ...defaults.deltas, ...options.deltas },
    authenticate: options.authenticate,
    authorize: options.authorize,
    presence: resolvePresence(options.presence),
    identify: options.identify ?? defaultIdentify,
    takeover: options.takeover ?? defaults.takeover,
    roles: options.roles ?? defaults.roles,
    allowedOrigins: options.allowedOrigins,
    trustProxy: options.trustProxy ?? false,
    heartbeat: { ...defaults.heartbeat, ...options.heartbeat },
    limits: {
      maxPayload: limits.maxPayload ?? defaults.limits.maxPayload,
      maxConnections: limits.maxConnections ?? defaults.limits.maxConnections,
      maxConnectionsPerIp,
      rate: { ...defaults.limits.rate, ...limits.rate },
      handshakeRate: {
        perAddressPerSecond: handshakeRate.perAddressPerSecond ?? maxConnectionsPerIp / 10,
        perAddressBurst: handshakeRate.perAddressBurst ?? 2 * maxConnectionsPerIp,
        perClientPerSecond:
          handshakeRate.perClientPerSecond ?? defaults.limits.perClientHandshakes.perSecond,
        perClientBurst: handshakeRate.perClientBurst ?? defaults.limits.perClientHandshakes.burst,
      },
      maxSubscriptionsPerConnection:
        limits.maxSubscriptionsPerConnection ?? defaults.limits.maxSubscriptionsPerConnection,
      maxPendingRequestsPerConnection:
        limits.maxPendingRequestsPerConnection ?? defaults.limits.maxPendingRequestsPerConnection,
      maxRewind: limits.maxRewind ?? history.maxMessages,
      maxHistoryPage: limits.maxHistoryPage ?? defaults.limits.maxHistoryPage,
      maxTopics: limits.maxTopics ?? defaults.limits.maxTopics,
      abuse: { ...defaults.limits.abuse, ...limits.abuse },
      highWaterMark: limits.highWaterMark ?? defaults.limits.highWaterMark,
      conflateHighWaterMark: limits.conflateHighWaterMark ?? defaults.limits.conflateHighWaterMark,
      handshakeTimeoutMs: limits.handshakeTimeoutMs ?? defaults.limits.handshakeTimeoutMs,
      requestTimeoutMs: limits.requestTimeoutMs ?? defaults.limits.requestTimeoutMs,
      dedupeWindowMs: limits.dedupeWindowMs ?? defaults.limits.dedupeWindowMs,
    },
    deflate:
      deflate === false
        ? false
        : {
            threshold:
              (deflate === true ? undefined : deflate.threshold) ?? defaults.deflateThreshold,
          },
    status: { enabled: options.status?.enabled ?? false, authorize: options.status?.authorize },
    logger: options.logger,
    metrics: options.metrics ?? {},
    tracer: options.tracer ?? defaultTracer(),
    features: options.features ?? [
      ...defaults.features,
      ...(options.credentials?.refresh ? ["refresh"] : []),
      ...(options.presence ? ["presence"] : []),
      ...(sse ? ["sse"] : []),
    ],
    credentials: {
      refresh: options.credentials?.refresh,
      expiresAt: options.credentials?.expiresAt,
      noticeMs: options.credentials?.noticeMs ?? defaults.credentialNoticeMs,
    },
    sessions: { lingerMs: options.sessions?.lingerMs ?? history.maxAgeMs },
    shutdown: { ...defaults.shutdown, ...options.shutdown },
    brokerOutage: { ...defaults.brokerOutage, ...options.brokerOutage },
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
  };
}

function resolveSse(sse: ServerOptions["sse"], path: string): ResolvedOptions<unknown>["sse"] {
  if (sse === false) return false;
  const ssePath = sse?.path ?? siblingPath(path, "sse");
  if (!ssePath.startsWith("/") || ssePath.includes("?")) {
    throw new LifelineServerError(
      ServerErrorCode.InvalidOptions,
      `sse.path must be an absolute path without a query, got ${JSON.stringify(ssePath)}`,
    );
  }
  if (ssePath === path) {
    throw new LifelineServerError(
      ServerErrorCode.InvalidOptions,
      `sse.path must differ from the WebSocket path, got ${JSON.stringify(ssePath)} for both`,
    );
  }
  return { path: ssePath };
}

/** `path` with its last segment replaced by `name`: `new URL(name, base)` semantics. */
export function siblingPath(path: string, name: string): string {
  return `${path.slice(0, path.lastIndexOf("/") + 1)}${name}`;
}

function resolvePresence(
  presence: ServerOptions["presence"],
): Required<PresenceOptions> | undefined {
  if (presence === undefined) return undefined;
  const given = typeof presence === "function" ? { topics: presence } : presence;
  const resolved = { ...defaults.presence, ...given };
  const bad = (name: string, value: unknown, expected: string) =>
    new LifelineServerError(
      ServerErrorCode.InvalidOptions,
      `presence.${name} must be ${expected}, got ${String(value)}`,
    );
  if (typeof resolved.topics !== "function") throw bad("topics", resolved.topics, "a function");
  if (!(resolved.graceMs >= 0 && Number.isFinite(resolved.graceMs))) {
    throw bad("graceMs", resolved.graceMs, "a number >= 0");
  }
  if (!(resolved.diffIntervalMs >= 1 && Number.isFinite(resolved.diffIntervalMs))) {
    throw bad("diffIntervalMs", resolved.diffIntervalMs, "a number >= 1");
  }
  if (!(Number.isSafeInteger(resolved.maxMembers) && resolved.maxMembers >= 0)) {
    throw bad("maxMembers", resolved.maxMembers, "an integer >= 0");
  }
  return resolved;
}
