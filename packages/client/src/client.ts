import {
  type ContractSpec,
  type HelloMessage,
  isFatalClose,
  type MethodOf,
  type MethodParams,
  type MethodResult,
  type PublishAck,
  type ServerMessage,
  type TopicData,
  type TopicOf,
} from "@lifeline/protocol";
import type { AbortSignalLike } from "./abort.js";
import { assertClientId, randomId, stableClientId } from "./client-id.js";
import { after, systemClock } from "./clock.js";
import { type Connection, type ConnectionEnd, openConnection } from "./connection.js";
import {
  type ClientState,
  type ConnectionStore,
  createConnectionStore,
  type StateChange,
} from "./connection-store.js";
import { createEmitter } from "./emitter.js";
import { ClientErrorCode, LifelineError } from "./errors.js";
import { consoleSink, createLogger } from "./logger.js";
import { type ClientOptions, defaults } from "./options.js";
import { createOutbox, type OutboxEntry } from "./outbox.js";
import { browserLifecycle } from "./page-lifecycle.js";
import { createPublishTracker, type PublishOptions } from "./publish.js";
import { probeReadiness } from "./readiness.js";
import { createReconnectPlanner, defaultBackoff } from "./reconnect.js";
import { createRequestTracker, type RequestOptions } from "./requests.js";
import { buildSocketUrl, redactUrl, type WebSocketResolver } from "./socket.js";
import {
  type ConnectionStatus,
  isOpen,
  type LifecycleEvent,
  type TransitionCause,
  transition,
} from "./state-machine.js";
import { type ClientStats, StatsRecorder } from "./stats.js";
import {
  createSubscriptionRegistry,
  type GapEvent,
  type MessageHandler,
  type SubscribeOptions,
} from "./subscriptions.js";
import { resolveToken } from "./token.js";
import type { Transport } from "./transport.js";
import { createUrlRotation } from "./url-rotation.js";
import { createWatchdog, type Watchdog } from "./watchdog.js";

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
  readonly topic: string;
  readonly data: unknown;
  readonly offset: number;
  readonly epoch: string;
  readonly ts: number;
}

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

type RequestArgs<P> = undefined extends P
  ? [params?: P, options?: RequestOptions]
  : [params: P, options?: RequestOptions];

export interface LifelineClient<S extends ContractSpec = ContractSpec> {
  readonly clientId: string;
  /** The current state's name (`client.state.getSnapshot().state`). */
  readonly status: ConnectionStatus;
  /** The state as a store: `useSyncExternalStore(client.state.subscribe, client.state.getSnapshot)`. */
  readonly state: ConnectionStore;
  /** The same store as `state`. */
  readonly connection: ConnectionStore;
  getSnapshot(): ClientState;
  /** Calls `listener` on every transition; returns its undo. */
  subscribeState(listener: (change: StateChange) => void): () => void;
  /** Starts connecting (lazy clients, after `close()`, or from `failed`). No-op while connecting or open. */
  connect(): void;
  /** Drops the current socket if any and connects again at once, with a fresh retry count. */
  reconnect(): void;
  /** Closes for good (until `connect()`): pending requests and publishes reject with `closed`. */
  close(): void;
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
  /** Resolves with the server's ack once `data` is appended to `topic`, exactly once. */
  publish<T extends ClientTopic<S>>(
    topic: T,
    data: TopicData<S, T>,
    options?: PublishOptions,
  ): Promise<PublishAck>;
  /** Calls a server method; rejects with a `LifelineError` (`timeout`, server codes, `closed`). */
  request<M extends ClientMethod<S>>(
    method: M,
    ...args: RequestArgs<MethodParams<S, M>>
  ): Promise<MethodResult<S, M>>;
  stats(): ClientStats;
}

/**
 * The client, given how to find a WebSocket implementation (the browser and Node entries
 * differ only in that).
 */
export function createClientWith<S extends ContractSpec = ContractSpec>(
  options: ClientOptions<S>,
  resolveWebSocket: WebSocketResolver,
): LifelineClient<S> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const role = options.role ?? defaults.role;
  const clientId = assertClientId(options.clientId ?? stableClientId(options.clientIdStorage));
  const contract = options.contract;
  const connectTimeoutMs = options.connectTimeoutMs ?? defaults.connectTimeoutMs;
  const helloTimeoutMs = options.helloTimeoutMs ?? defaults.helloTimeoutMs;
  const stableAfterMs = options.stableAfterMs ?? defaults.stableAfterMs;
  const heartbeatGraceMs = options.heartbeatGraceMs ?? defaults.heartbeatGraceMs;
  const maxMessageChars = options.maxMessageChars ?? defaults.maxMessageChars;
  const readinessTimeoutMs = options.readinessTimeoutMs ?? defaults.readinessTimeoutMs;
  const lifecycle =
    options.lifecycle === false ? undefined : (options.lifecycle ?? browserLifecycle());
  const log = createLogger({
    sink: options.logger ?? consoleSink,
    level: options.logLevel ?? defaults.logLevel,
    now: () => clock.now(),
  });

  const urls = createUrlRotation(options.url);
  const planner = createReconnectPlanner({
    policy: options.backoff ?? defaultBackoff(),
    random,
    ...(options.slowDown ? { slowDown: options.slowDown } : {}),
  });
  const outbox = createOutbox(options.queue?.max ?? defaults.queueMax);
  const stats = new StatsRecorder();
  const events = createEmitter<ClientEvents>((error) =>
    log.error("an event listener threw", { error: String(error) }),
  );
  const store = createConnectionStore({
    state: "idle",
    status: "idle",
    attempt: 0,
    since: clock.now(),
  });

  const sessionPrefix = randomId(6);
  let idCounter = 0;
  /** Bumped whenever an attempt starts or the client closes: async steps of older attempts stop. */
  let generation = 0;
  let connection: Connection | undefined;
  /** The connection that has said `hello`; sends go through it. */
  let active: Connection | undefined;
  let watchdog: Watchdog | undefined;
  let stopStableTimer: () => void = () => {};
  /** Timers of the current state, stopped by `setState` when it leaves the state. */
  let stateTimers: Array<() => void> = [];
  let lastCloseCode: number | undefined;
  let lastFailureFatal = false;
  let paused = false;
  let stopWatchingLifecycle: (() => void) | undefined;

  const setState = (
    event: LifecycleEvent,
    cause: TransitionCause,
    extra: { nextRetryAt?: number } = {},
  ): boolean => {
    const prev = store.getSnapshot();
    const next = transition(prev.state, event);
    if (!next) return false;
    if (next !== prev.state) {
      for (const stop of stateTimers) stop();
      stateTimers = [];
    }
    const snapshot: ClientState = {
      state: next,
      status: next,
      attempt: planner.attempt,
      cause,
      since: clock.now(),
      ...(extra.nextRetryAt === undefined ? {} : { nextRetryAt: extra.nextRetryAt }),
    };
    store.set(snapshot);
    log.debug("state changed", { prev: prev.state, next, ...cause });
    events.emit("state", { prev: prev.state, next, cause, snapshot });
    return true;
  };

  /** Changes the snapshot without a transition (retry count reset, retries paused). */
  const patchSnapshot = (patch: { readonly attempt?: number; readonly clearRetryAt?: boolean }) => {
    const { nextRetryAt, ...rest } = store.getSnapshot();
    store.set({
      ...rest,
      attempt: patch.attempt ?? rest.attempt,
      ...(patch.clearRetryAt || nextRetryAt === undefined ? {} : { nextRetryAt }),
    });
  };

  const sendEntry = (entry: OutboxEntry): boolean => {
    if (!active?.send(entry.frame)) return false;
    stats.countSent(entry.kind);
    if (entry.kind === "request") requests.markSent(entry.id);
    else publishes.markSent(entry.id);
    return true;
  };

  const transport: Transport = {
    deliver(entry) {
      if (active && outbox.size === 0 && sendEntry(entry)) return "sent";
      if (!outbox.push(entry)) return "full";
      ensureStarted();
      return "queued";
    },
    sendIfOpen(type, frame) {
      if (!active?.send(frame)) return false;
      stats.countSent(type);
      return true;
    },
    withdraw(id) {
      outbox.remove(id);
    },
    nextId(prefix) {
      idCounter += 1;
      return `${prefix}${sessionPrefix}.${idCounter}`;
    },
  };

  const requests = createRequestTracker({
    clock,
    transport,
    contract,
    defaultTimeoutMs: options.requestTimeoutMs ?? defaults.requestTimeoutMs,
  });
  const publishes = createPublishTracker({ clock, transport, contract });
  const subscriptions = createSubscriptionRegistry({
    transport,
    contract,
    validateIncoming: options.validateIncoming ?? defaults.validateIncoming,
    events: {
      onGap(gap) {
        stats.gaps += 1;
        log.warn("subscription resumed with a gap", { ...gap });
        events.emit("gap", gap);
      },
      onError(error) {
        log.warn(error.message, { code: error.code });
        events.emit("error", error);
      },
      onDelivered(message) {
        if (events.count("message") > 0) {
          events.emit("message", {
            topic: message.topic,
            data: message.data,
            offset: message.offset,
            epoch: message.epoch,
            ts: message.ts,
          });
        }
      },
      onDuplicate() {
        stats.duplicatesDropped += 1;
      },
    },
  });

  const ensureStarted = () => {
    if (store.getSnapshot().state === "idle") connect();
  };

  const watchLifecycle = () => {
    if (!lifecycle || stopWatchingLifecycle) return;
    stopWatchingLifecycle = lifecycle.watch({
      offline() {
        paused = true;
        if (store.getSnapshot().state !== "reconnecting") return;
        for (const stop of stateTimers) stop();
        stateTimers = [];
        patchSnapshot({ clearRetryAt: true });
        log.info("offline: retries paused");
      },
      online() {
        paused = false;
        retryNow("the network came back online");
      },
      visible() {
        const state = store.getSnapshot().state;
        if (isOpen(state)) watchdog?.check();
        else retryNow("the page became visible");
      },
    });
  };

  /** Online/visible: a pending retry runs now; a non-fatal `failed` starts over. */
  const retryNow = (reason: string) => {
    const state = store.getSnapshot().state;
    if (state === "reconnecting") startAttempt("connect", { reason });
    else if (state === "failed" && !lastFailureFatal) {
      planner.reset();
      startAttempt("connect", { reason });
    }
  };

  const startAttempt = (type: "connect" | "retry", cause: TransitionCause) => {
    if (!setState({ type }, cause)) return;
    generation += 1;
    const current = generation;
    stats.attemptStarted(clock.now());
    watchLifecycle();
    void runAttempt(current);
  };

  const runAttempt = async (current: number) => {
    try {
      const base = await urls.resolve(planner.attempt);
      if (current !== generation) return;
      stats.url = redactUrl(base);
      if (options.readinessUrl !== undefined) {
        const notReady = await probeReadiness(options.readinessUrl, readinessTimeoutMs, clock);
        if (current !== generation) return;
        if (notReady) {
          attemptEnded({ cause: notReady, greeted: false });
          return;
        }
      }
      const token = await resolveToken(
        options.token,
        lastCloseCode === undefined
          ? { attempt: planner.attempt }
          : { attempt: planner.attempt, lastCloseCode },
      );
      if (current !== generation) return;
      const WebSocket = options.WebSocket ?? (await resolveWebSocket());
      if (current !== generation) return;
      connection = openConnection({
        url: buildSocketUrl(base, { clientId, role, token }),
        WebSocket,
        clock,
        connectTimeoutMs,
        helloTimeoutMs,
        maxMessageChars,
        handlers: {
          onHello: (hello) => {
            if (current === generation) opened(hello);
          },
          onMessage: (message) => {
            if (current === generation) handleMessage(message);
          },
          onFrame: () => {
            if (current !== generation) return;
            stats.lastActivityAt = clock.now();
            watchdog?.touch();
          },
          onInvalid: (issue) => {
            if (current !== generation) return;
            const error = new LifelineError(
              issue.code,
              `ignored an invalid frame from the server: ${issue.message}`,
            );
            log.warn("ignored an invalid frame from the server", { issue: issue.message });
            events.emit("error", error);
          },
          onEnd: (end) => {
            if (current === generation) attemptEnded(end);
          },
        },
      });
    } catch (error) {
      if (current !== generation) return;
      const message = error instanceof Error ? error.message : String(error);
      attemptEnded({
        cause: { reason: `the attempt could not start: ${message}`, errorClass: "unknown" },
        greeted: false,
      });
    }
  };

  const opened = (hello: HelloMessage) => {
    const now = clock.now();
    active = connection;
    stats.successfulConnections += 1;
    stats.openedAt = now;
    stats.connectionId = hello.connection_id;
    stats.serverFeatures = hello.features;
    stats.heartbeatIntervalMs = hello.heartbeat_interval_ms;
    stats.attemptEnded({
      outcome: "open",
      durationMs: now - (stats.recentAttempts().at(-1)?.at ?? now),
      ...(stats.url === undefined ? {} : { url: stats.url }),
    });
    lastFailureFatal = false;
    // Resubscribe and replay the outbox before announcing `open`: a listener of the state
    // event that publishes must not overtake messages queued earlier.
    subscriptions.resubscribeAll();
    outbox.flush(sendEntry);
    watchdog = createWatchdog({
      clock,
      intervalMs: hello.heartbeat_interval_ms,
      graceMs: heartbeatGraceMs,
      lateTimerToleranceMs: defaults.lateTimerToleranceMs,
      onLate: () => {
        setState(
          { type: "heartbeat_late" },
          {
            reason: `no frame from the server for ${hello.heartbeat_interval_ms + heartbeatGraceMs / 2} ms`,
            errorClass: "timeout",
          },
        );
      },
      onRecovered: () => {
        setState({ type: "heartbeat_ok" }, { reason: "the server answered again" });
      },
      probe: () => {
        if (active?.send('{"type":"ping"}')) {
          stats.probesSent += 1;
          stats.countSent("ping");
        }
      },
      onDead: (silentForMs) => {
        active?.abandon({
          reason: `no frame from the server for ${silentForMs} ms: the connection is half-open`,
          errorClass: "timeout",
        });
      },
    });
    stopStableTimer = after(clock, stableAfterMs, () => {
      planner.reset();
      patchSnapshot({ attempt: 0 });
    });
    setState({ type: "hello" }, { reason: "the server said hello" });
    log.info("connected", { url: stats.url, connectionId: hello.connection_id });
  };

  const handleMessage = (message: ServerMessage) => {
    stats.countReceived(message.type);
    switch (message.type) {
      case "ping":
        stats.heartbeatsReceived += 1;
        if (active?.send('{"type":"pong"}')) stats.countSent("pong");
        return;
      case "message":
        subscriptions.handleMessage(message);
        return;
      case "subscribed":
        subscriptions.handleSubscribed(message);
        return;
      case "response":
        if (message.ok) {
          if (!requests.settle(message.id, message)) publishes.settle(message.id, message);
        } else {
          settleFailure(message.id, message.error);
        }
        return;
      case "error":
        if (message.id !== undefined && settleFailure(message.id, message)) return;
        log.warn("the server reported an error", { code: message.code, message: message.message });
        events.emit("error", new LifelineError(message.code, message.message));
        return;
      case "shutdown":
        log.info("the server is shutting down", {
          reason: message.reason,
          reconnectAfterMs: message.reconnect_after_ms,
        });
        return;
      default:
        return;
    }
  };

  const settleFailure = (id: string, error: { code: string; message: string }): boolean =>
    requests.settle(id, { ok: false, error }) ||
    publishes.settle(id, { ok: false, error }) ||
    subscriptions.handleFailure(id, error);

  const teardownConnection = (reason: string) => {
    watchdog?.stop();
    watchdog = undefined;
    stopStableTimer();
    stopStableTimer = () => {};
    const wasActive = active !== undefined;
    active = undefined;
    connection = undefined;
    stats.openedAt = undefined;
    if (wasActive) {
      requests.connectionLost(reason);
      subscriptions.connectionLost();
    }
    outbox.requeue(publishes.takeUnacknowledged());
  };

  const attemptEnded = (end: ConnectionEnd) => {
    const { cause } = end;
    teardownConnection(cause.reason);
    if (!end.greeted) {
      stats.attemptEnded({
        outcome: "failed",
        reason: cause.reason,
        ...(cause.errorClass === undefined ? {} : { errorClass: cause.errorClass }),
        ...(cause.code === undefined ? {} : { code: cause.code }),
        ...(stats.url === undefined ? {} : { url: stats.url }),
      });
      urls.rotate();
    }
    lastCloseCode = cause.code;
    const plan = planner.plan({
      ...(cause.code === undefined ? {} : { code: cause.code }),
      ...(end.shutdownFloorMs === undefined ? {} : { serverFloorMs: end.shutdownFloorMs }),
    });
    if (!plan.retry) {
      lastFailureFatal = cause.code !== undefined && isFatalClose(cause.code);
      const reason = lastFailureFatal ? cause.reason : `${plan.reason}; last: ${cause.reason}`;
      log.error("connection failed, not retrying", { ...cause, plan: plan.reason });
      setState({ type: "drop", retry: false }, { ...cause, reason });
      return;
    }
    if (paused || (lifecycle && !lifecycle.isOnline())) {
      paused = true;
      setState({ type: "drop", retry: true }, cause);
      log.info("offline: waiting for the network before retrying", { ...cause });
      return;
    }
    const nextRetryAt = clock.now() + plan.delayMs;
    setState({ type: "drop", retry: true }, cause, { nextRetryAt });
    log.warn("connection lost, retrying", {
      ...cause,
      delayMs: plan.delayMs,
      attempt: plan.attempt,
    });
    stateTimers.push(
      after(clock, plan.delayMs, () =>
        startAttempt("retry", { reason: `retry ${plan.attempt} after ${plan.delayMs} ms` }),
      ),
    );
  };

  const connect = () => {
    const state = store.getSnapshot().state;
    if (state === "connecting" || isOpen(state)) return;
    if (state === "failed" || state === "closed") planner.reset();
    startAttempt("connect", { reason: "connect() was called" });
  };

  const closeWith = (code: LifelineError) => {
    requests.rejectAll(code);
    publishes.rejectAll(code);
    outbox.clear();
  };

  const client: LifelineClient<S> = {
    clientId,
    get status() {
      return store.getSnapshot().state;
    },
    state: store,
    connection: store,
    getSnapshot: store.getSnapshot,
    subscribeState: (listener) => events.on("state", listener),
    connect,
    reconnect() {
      const state = store.getSnapshot().state;
      if (state === "closed" || state === "idle") {
        connect();
        return;
      }
      generation += 1;
      planner.reset();
      if (state === "connecting" || isOpen(state)) {
        connection?.close(1000, "reconnecting");
        teardownConnection("reconnect() was called");
        setState({ type: "drop", retry: true }, { code: 1000, reason: "reconnect() was called" });
      }
      startAttempt("connect", { reason: "reconnect() was called" });
    },
    close() {
      generation += 1;
      if (connection) connection.close(1000, "closed by the application");
      teardownConnection("closed by the application");
      setState({ type: "close" }, { code: 1000, reason: "closed by the application" });
      closeWith(new LifelineError(ClientErrorCode.Closed, "the client was closed"));
      stopWatchingLifecycle?.();
      stopWatchingLifecycle = undefined;
      log.flush();
    },
    on: (event, listener) => events.on(event, listener),
    subscribe(topic, handler, subscribeOptions = {}) {
      const unsubscribe = subscriptions.add(topic, handler as MessageHandler, subscribeOptions);
      ensureStarted();
      return unsubscribe;
    },
    publish(topic, data, publishOptions) {
      if (store.getSnapshot().state === "closed") {
        return Promise.reject(new LifelineError(ClientErrorCode.Closed, "the client is closed"));
      }
      return publishes.start(topic, data, publishOptions);
    },
    request(method, ...args) {
      if (store.getSnapshot().state === "closed") {
        return Promise.reject(new LifelineError(ClientErrorCode.Closed, "the client is closed"));
      }
      const [params, requestOptions] = args as [unknown, RequestOptions | undefined];
      return requests.start(method, params, requestOptions) as Promise<
        MethodResult<S, typeof method>
      >;
    },
    stats(): ClientStats {
      const snapshot = store.getSnapshot();
      const now = clock.now();
      return {
        state: snapshot.state,
        clientId,
        attempt: snapshot.attempt,
        attemptsTotal: stats.attemptsTotal,
        successfulConnections: stats.successfulConnections,
        uptimeMs: stats.openedAt === undefined ? 0 : now - stats.openedAt,
        ...(stats.connectionId === undefined ? {} : { connectionId: stats.connectionId }),
        sent: { ...stats.sent },
        received: { ...stats.received },
        heartbeats: { received: stats.heartbeatsReceived, probesSent: stats.probesSent },
        ...(stats.lastActivityAt === undefined ? {} : { lastActivityAt: stats.lastActivityAt }),
        queueSize: outbox.size,
        pendingRequests: requests.size,
        pendingPublishes: publishes.size,
        duplicatesDropped: stats.duplicatesDropped,
        gaps: stats.gaps,
        recentAttempts: stats.recentAttempts(),
        serverFeatures: stats.serverFeatures,
        ...(stats.heartbeatIntervalMs === undefined
          ? {}
          : { heartbeatIntervalMs: stats.heartbeatIntervalMs }),
        ...(stats.url === undefined ? {} : { url: stats.url }),
      };
    },
  };

  if (!(options.lazy ?? defaults.lazy)) {
    // Deferred one microtask so listeners attached right after createClient() see `connecting`.
    queueMicrotask(() => {
      if (store.getSnapshot().state === "idle") connect();
    });
  }
  return client;
}

export type { AbortSignalLike };
