import type { Contract, ContractSpec, Role } from "@lifeline/protocol";
import type { PositionStore } from "./positions/keeper.js";
import type { PageLifecycle } from "./reconnect/page-lifecycle.js";
import type { BackoffPolicy, SlowDownOptions } from "./reconnect/planner.js";
import type { ClientIdSources } from "./session/client-id.js";
import type { TokenOption } from "./session/token.js";
import type { CodecName } from "./transport/codec.js";
import type { WebSocketConstructor } from "./transport/socket.js";
import type { SseSocketOptions } from "./transport/sse.js";
import type { TransportName } from "./transport/transport.js";
import type { UrlOption } from "./transport/url-rotation.js";
import type { Clock } from "./util/clock.js";
import type { LogLevel, LogSink } from "./util/logger.js";

/** Options of `createClient()`. Every time is in milliseconds. */
export interface ClientOptions<S extends ContractSpec = ContractSpec> {
  /**
   * The server endpoint, e.g. `"wss://example.com/ws"`. A list is rotated after every failed
   * attempt (several server nodes); a function is called before every attempt and may be async.
   * Query parameters `client_id`, `version`, `role` and `token` are added by the client.
   * Required: there is no default.
   */
  readonly url: UrlOption;
  /**
   * Identifies this client to the server (`^[A-Za-z0-9_.:-]{1,128}$`); publish ids are unique
   * per client id. Two live connections with one id replace each other (4409).
   * @default a stable id: `<device>.<tab>`, kept in `localStorage`/`sessionStorage` when
   * available, random per client elsewhere
   */
  readonly clientId?: string;
  /**
   * The `role` query parameter; the server closes 4401 for a role it does not accept.
   * @default "frontend"
   */
  readonly role?: Role;
  /**
   * A contract from `defineContract()`: types `request`, `publish` and `subscribe`, checks
   * outgoing params and data before sending and incoming results and messages on arrival.
   * @default undefined (untyped, unchecked)
   */
  readonly contract?: Contract<S>;
  /**
   * A credential sent as the `token` query parameter: a string, or a function called before
   * every attempt (short-lived credentials; it sees the previous close code, e.g. 4401).
   * @default undefined (no token)
   */
  readonly token?: TokenOption;
  /**
   * A WebSocket implementation. The browser entry uses the global `WebSocket`; the Node
   * entry uses the global one when present (Node 22+), else the `ws` package.
   * @default the global WebSocket, or `ws` under Node 20
   */
  readonly WebSocket?: WebSocketConstructor;
  /**
   * The wires the client may use, preferred first (README, "Transports and fallback"):
   * `"websocket"`, and `"sse"`, the HTTP fallback of PROTOCOL.md ("HTTP fallback (SSE)")
   * for networks whose proxies block WebSocket. With both, the client falls back to SSE
   * as `fallbackAfter` says and probes WebSocket in the background to move back.
   * `["sse"]` forces the fallback (to test it), `["websocket"]` never leaves WebSocket.
   * @default ["websocket", "sse"]
   */
  readonly transports?: readonly TransportName[];
  /**
   * Consecutive attempts that fail on the wire (no `hello`: a network error, a timeout, a
   * drop before `hello`) before the client moves to the next of `transports`. A proxy
   * that refuses the WebSocket upgrade with an HTTP status (other than 429/503) moves it
   * at once where the platform reports the status (Node); browsers hide it, so there
   * this count decides. A connection that worked and dropped never counts.
   * @default 2
   */
  readonly fallbackAfter?: number;
  /**
   * While on a later transport, delays between background probes of the first one (a
   * real connection attempt; on its `hello` the client moves to it).
   * @default exponential({ baseMs: 5000, factor: 2, capMs: 300000, maxAttempts: Infinity, jitter: "equal" })
   */
  readonly probeBackoff?: BackoffPolicy;
  /**
   * The encoding asked for: `"json"` text frames, or `"msgpack"` binary frames
   * (subprotocol `lifeline.v1.msgpack`, loaded on first use), which also carry binary
   * `data` (`Uint8Array`). The server decides: one without MessagePack answers JSON, and
   * the SSE fallback is always JSON. Under `"json"`, binary data in `publish()` or
   * `request()` is refused with a `TypeError`.
   * @default "json"
   */
  readonly codec?: CodecName;
  /**
   * The SSE endpoint, or a function from the WebSocket URL in use (with `url` lists, each
   * URL's own). Handshake parameters are added as for the WebSocket.
   * @default the sibling `sse` of `url`: `wss://h/api/ws` -> `https://h/api/sse`
   */
  readonly sseUrl?: string | ((webSocketUrl: string) => string);
  /**
   * Limits of the SSE transport (event and post sizes, the send queue) and the `fetch`
   * it uses.
   * @default { maxEventChars: maxMessageChars + 64, maxBodyBytes: 1048576, maxBatchMessages: 100, maxQueuedChars: 16777216, fetch: globalThis.fetch, withCredentials: false }
   */
  readonly sse?: SseSocketOptions;
  /**
   * The retry delay policy, from `@lifeline/backoff`; `maxAttempts` may be `Infinity`.
   * @default exponential({ baseMs: 1000, factor: 2, capMs: 30000, maxAttempts: 10, jitter: "full" })
   */
  readonly backoff?: BackoffPolicy;
  /**
   * Delays between resends of a publish the server refused for a passing reason
   * (`overloaded`, `rate_limited`); the later publishes to its topic wait behind it
   * (PROTOCOL.md, "Publish order"). The policy's `maxAttempts` is not used: a refused
   * publish is sent again until the server answers it otherwise, or its `timeoutMs` or
   * `signal` ends the wait. The delays start over once a publish of the topic goes through.
   * @default exponential({ baseMs: 500, capMs: 15000, jitter: "equal" })
   */
  readonly publishRetry?: BackoffPolicy;
  /**
   * How 4429 and 1013 ("slow down") back off harder: at least `floorMs` plus the schedule's
   * delay times `multiplier`, at most `capMs`.
   * @default { floorMs: 5000, multiplier: 3, capMs: 120000 }
   */
  readonly slowDown?: SlowDownOptions;
  /**
   * A connection must stay open this long before the retry count resets; a server that
   * accepts and drops at once is retried on the growing schedule, not hammered.
   * @default 10000
   */
  readonly stableAfterMs?: number;
  /**
   * When true, nothing connects until the first `connect()`, `subscribe()`, `publish()` or
   * `request()`. When false, connecting starts right after `createClient()` returns.
   * @default false
   */
  readonly lazy?: boolean;
  /**
   * An attempt whose socket is not open within this time is abandoned (`timeout`). The
   * `url` and `token` functions get the same bound each, so a hung credential service
   * cannot stall reconnection.
   * @default 10000
   */
  readonly connectTimeoutMs?: number;
  /**
   * After the socket opens, the server's `hello` must arrive within this time.
   * @default 10000
   */
  readonly helloTimeoutMs?: number;
  /**
   * Default `timeoutMs` of `request()`.
   * @default 15000
   */
  readonly requestTimeoutMs?: number;
  /**
   * Silence tolerated beyond the server's `heartbeat_interval_ms` before the link is
   * considered half-open and replaced. At half of it the client goes `degraded` and
   * probes with a `ping`.
   * @default 10000
   */
  readonly heartbeatGraceMs?: number;
  /**
   * The outbox: publishes and requests made while not open, sent in order on reopen.
   * `max` bounds it; beyond it new messages are rejected with `queue_full`.
   * @default { max: 1000 }
   */
  readonly queue?: {
    /**
     * Most messages waiting at once; `0` refuses every message made while not open.
     * @default 1000
     */
    readonly max?: number;
  };
  /**
   * Frames longer than this many characters are refused before parsing.
   * @default 1048576
   */
  readonly maxMessageChars?: number;
  /**
   * An HTTP URL checked with `GET` before each upgrade attempt (e.g. the server's `/health`);
   * a failure or a non-2xx status counts as a failed attempt without opening a socket.
   * @default undefined (no probe)
   */
  readonly readinessUrl?: string;
  /**
   * Time allowed for the readiness probe.
   * @default 3000
   */
  readonly readinessTimeoutMs?: number;
  /**
   * Validate incoming topic messages against the contract (they are dropped and an `error`
   * event is emitted when invalid).
   * @default true
   */
  readonly validateIncoming?: boolean;
  /**
   * Online/offline and visibility signals. `false` ignores them.
   * @default the browser's `window`/`document` events when present, else none
   */
  readonly lifecycle?: PageLifecycle | false;
  /**
   * Where the default client id is kept.
   * @default localStorage and sessionStorage when available
   */
  readonly clientIdStorage?: ClientIdSources;
  /**
   * Where each topic subscribed with `from: "stored"` keeps its last delivered position,
   * so a reloaded page or a restarted process resumes with `since` and gets a `gap` event
   * for what history no longer holds (PROTOCOL.md, "Resuming from a stored position").
   * `true` picks the platform's store: in browsers `sessionStorage` under
   * `lifeline.positions.<clientId>` (a reload of the tab resumes, a new tab starts
   * afresh); under Node a file `.lifeline/positions-<clientId>.json` in the working
   * directory, which needs a `clientId` of your own (the default one is new in every
   * process). Or pass `webStoragePositions()`, `filePositions(path)` (Node entry) or an
   * object of your own (`PositionStore`: `get`, `set`, optional `flush`). Saves are
   * batched (`positionsSaveMs`) and made at once on `close()` and when the page is hidden
   * or unloaded (signalled by `lifecycle`: with `lifecycle: false` only the batches save);
   * after a crash, the messages since the last save are delivered again.
   * @default undefined (positions live in memory: a restart starts at the head, or with `rewind`)
   */
  readonly positions?: PositionStore | true;
  /**
   * Most time a delivered position waits before it is saved to `positions`: a busy topic
   * costs one save per interval, not one per message.
   * @default 1000
   */
  readonly positionsSaveMs?: number;
  /**
   * Receives log records (levels, consecutive duplicates folded into `"... x N"`).
   * @default console
   */
  readonly logger?: LogSink;
  /**
   * The lowest level written: `debug`, `info`, `warn`, `error` or `silent`.
   * @default "warn"
   */
  readonly logLevel?: LogLevel;
  /**
   * Time source and timers; tests pass a manual clock.
   * @default Date.now and the global setTimeout
   */
  readonly clock?: Clock;
  /**
   * Randomness for jitter, in [0, 1).
   * @default Math.random
   */
  readonly random?: () => number;
}

export const defaults = {
  role: "frontend",
  transports: ["websocket", "sse"] as readonly TransportName[],
  fallbackAfter: 2,
  codec: "json" as CodecName,
  stableAfterMs: 10_000,
  lazy: false,
  connectTimeoutMs: 10_000,
  helloTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  heartbeatGraceMs: 10_000,
  queueMax: 1000,
  maxMessageChars: 1024 * 1024,
  readinessTimeoutMs: 3000,
  validateIncoming: true,
  logLevel: "warn",
  positionsSaveMs: 1000,
  /** A timer firing this much later than asked is taken for a throttled background tab. */
  lateTimerToleranceMs: 1000,
} as const;
