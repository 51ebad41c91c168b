import type {
  ContractSpec,
  DirectData,
  MethodOf,
  MethodParams,
  MethodResult,
  PublishAck,
  TopicData,
  TopicOf,
} from "@lifeline/protocol";
import type { HistoryOptions, HistoryResult } from "./delivery/history.js";
import type { PresenceMember, PresenceResult } from "./delivery/presence.js";
import type { PublishOptions } from "./delivery/publish.js";
import type { RequestOptions } from "./delivery/requests.js";
import type { GapEvent, MessageHandler, SubscribeOptions } from "./delivery/subscribe-options.js";
import type { LifelineError } from "./errors.js";
import type { ConnectionStatus } from "./state/machine.js";
import type { PingOptions } from "./state/round-trip.js";
import type { ClientStats } from "./state/stats.js";
import type { ClientState, ConnectionStore, StateChange } from "./state/store.js";
import type { TransportName } from "./transport/transport.js";

/** Topic names a client accepts: the contract's, or any string without a typed contract. */
export type ClientTopic<S extends ContractSpec> = [TopicOf<S>] extends [never]
  ? string
  : TopicOf<S>;
/** Method names a client accepts: the contract's, or any string without a typed contract. */
export type ClientMethod<S extends ContractSpec> = [MethodOf<S>] extends [never]
  ? string
  : MethodOf<S>;

/** A topic message as emitted by the client-wide `message` event. */
export interface DeliveredMessage {
  /** The topic it was published to. */
  readonly topic: string;
  /** The message's data, as published. */
  readonly data: unknown;
  /** Its offset in the topic's log. */
  readonly offset: number;
  /** The epoch of that offset. */
  readonly epoch: string;
  /** Milliseconds since the Unix epoch when the server appended it. */
  readonly ts: number;
}

/** Events a client emits, by name, with their payloads; `client.on(name, listener)` subscribes. */
export interface ClientEvents {
  /** Every state transition with its cause. */
  readonly state: StateChange;
  /** A subscription could not resume without loss. */
  readonly gap: GapEvent;
  /** Something went wrong that no promise reports (invalid frames, refused subscriptions, a throwing handler). */
  readonly error: LifelineError;
  /** Every topic message delivered to handlers, in order. */
  readonly message: DeliveredMessage;
}

/** `params` may be left out when the method's params accept `undefined`. */
export type RequestArgs<P> = undefined extends P
  ? [params?: P, options?: RequestOptions]
  : [params: P, options?: RequestOptions];

/**
 * A client: one connection that reconnects by itself. `S` is the contract's spec that types topics
 * and methods.
 */
export interface LifelineClient<S extends ContractSpec = ContractSpec> {
  /** The `client_id` this client connects with, stable across reconnects. */
  readonly clientId: string;
  /** The current state's name (`client.state.getSnapshot().state`). */
  readonly status: ConnectionStatus;
  /** The state as a store: `useSyncExternalStore(client.state.subscribe, client.state.getSnapshot)`. */
  readonly state: ConnectionStore;
  /** The same store as `state`. */
  readonly connection: ConnectionStore;
  /** The current state (the same object until it changes). */
  getSnapshot(): ClientState;
  /** Calls `listener` on every transition; returns its undo. */
  subscribeState(listener: (change: StateChange) => void): () => void;
  /** Starts connecting (lazy clients, after `close()`, or from `failed`). No-op while connecting or open. */
  connect(): void;
  /** Drops the current socket if any and connects again at once, with a fresh retry count. */
  reconnect(): void;
  /**
   * Replaces the `transports` option while running (a diagnostics page's "force SSE"
   * switch): `["sse"]` moves an open WebSocket connection to SSE at once (a reconnect:
   * subscriptions resume by offset, queued publishes replay), `["websocket"]` the other
   * way, `["websocket", "sse"]` goes back to choosing (a connection on SSE moves to
   * WebSocket at once). Throws a `TypeError` for a list it cannot use.
   */
  setTransports(transports: readonly TransportName[]): void;
  /** Closes for good (until `connect()`): pending requests and publishes reject with `closed`. */
  close(): void;
  /** Calls `listener` on each `event`; returns its undo. */
  on<E extends keyof ClientEvents>(
    event: E,
    listener: (payload: ClientEvents[E]) => void,
  ): () => void;
  /**
   * Delivers every message of `topic` to `handler`, in offset order, once each, across
   * reconnects. Returns the function that unsubscribes.
   */
  subscribe<T extends ClientTopic<S>>(
    topic: T,
    handler: MessageHandler<TopicData<S, T>>,
    options?: SubscribeOptions,
  ): () => void;
  /**
   * Receives the direct messages the server sends this client (`server.sendTo`), in order,
   * once each, across reconnects: they arrive on the client's inbox, the reserved topic
   * `@inbox`, with a topic's offsets, resume and gap reports (PROTOCOL.md, "Direct
   * messages"); `meta.topic` is `"@inbox"`. With a contract, `data` is its `direct` type
   * and is checked on arrival. `options` are a subscription's (`since`, `rewind`, `onGap`,
   * `onError`). Needs a server that announces the `inbox` feature. Returns the undo.
   */
  onDirect(handler: MessageHandler<DirectData<S>>, options?: SubscribeOptions): () => void;
  /** Resolves with the server's ack once `data` is appended to `topic`, exactly once. */
  publish<T extends ClientTopic<S>>(
    topic: T,
    data: TopicData<S, T>,
    options?: PublishOptions,
  ): Promise<PublishAck>;
  /**
   * Reads one page of `topic`'s retained messages without subscribing, authorised like a
   * subscribe (PROTOCOL.md, "History"). Page on with the result's `next` as `since`.
   * Rejects like a request (`timeout`, `forbidden`, `invalid_message` for a `limit` above
   * the server's page limit, `closed`, `connection_lost`), and with a `RangeError` for
   * options that are not a page.
   */
  history<T extends ClientTopic<S>>(
    topic: T,
    options: HistoryOptions,
  ): Promise<HistoryResult<TopicData<S, T>>>;
  /**
   * Asks who is subscribed to `topic` now (PROTOCOL.md, "Presence"): one member per
   * client_id, with its `user`. Sent like a request (queued while disconnected, `timeout`,
   * abort); rejects with `forbidden` when the client may not subscribe to the topic or the
   * server keeps no presence for it. To follow the members as they change, subscribe with
   * `{ presence: true, onPresence }` instead.
   */
  presence(topic: ClientTopic<S>, options?: RequestOptions): Promise<PresenceResult>;
  /**
   * The members the client keeps for `topic` from a subscription with `presence: true`
   * (as `onPresence` last reported them), or undefined when none asks for them.
   */
  members(topic: ClientTopic<S>): readonly PresenceMember[] | undefined;
  /** Calls a server method; rejects with a `LifelineError` (`timeout`, server codes, `closed`). */
  request<M extends ClientMethod<S>>(
    method: M,
    ...args: RequestArgs<MethodParams<S, M>>
  ): Promise<MethodResult<S, M>>;
  /**
   * Measures one round trip to the server now: sends a protocol `ping` and resolves with
   * the milliseconds until its `pong` (PROTOCOL.md, "Liveness"). Rejects with
   * `connection_lost` when not open or when the connection drops first, `timeout`,
   * `aborted`, or `queue_full` past 64 unanswered pings. `stats().roundTripMs` keeps the
   * latest measure, the watchdog's probes included.
   */
  ping(options?: PingOptions): Promise<number>;
  /** Counters and the current connection's figures, as a plain object. */
  stats(): ClientStats;
}
