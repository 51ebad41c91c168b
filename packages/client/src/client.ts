import {
  CloseCode,
  type ContractSpec,
  type HelloMessage,
  INBOX_TOPIC,
  isFatalClose,
  type MethodResult,
  type TopicData,
  truncateCloseReason,
} from "@lifeline/protocol";
import type { ClientEvents, LifelineClient } from "./api.js";
import { createDispatcher } from "./core/router.js";
import { type HistoryResult, readHistory } from "./delivery/history.js";
import { createOutbox, type OutboxEntry } from "./delivery/outbox.js";
import {
  createPresenceTracker,
  type PresenceListener,
  queryPresence,
} from "./delivery/presence.js";
import { createPublishTracker, defaultPublishRetry } from "./delivery/publish.js";
import { createRequestTracker, type RequestOptions } from "./delivery/requests.js";
import type { Transport } from "./delivery/sender.js";
import { createSubscriptionRegistry, type MessageHandler } from "./delivery/subscriptions.js";
import { ClientErrorCode, LifelineError } from "./errors.js";
import { type ClientOptions, defaults } from "./options.js";
import {
  createPositionKeeper,
  type PositionKeeper,
  type PositionStore,
} from "./positions/keeper.js";
import { browserLifecycle } from "./reconnect/page-lifecycle.js";
import { createReconnectPlanner, defaultBackoff } from "./reconnect/planner.js";
import { type AttemptInputs, prepareAttempt } from "./reconnect/prepare-attempt.js";
import { assertClientId, stableClientId } from "./session/client-id.js";
import { createRefresher } from "./session/refresh.js";
import { createStateDriver } from "./state/driver.js";
import { watchConnection } from "./state/liveness.js";
import { isOpen, type TransitionCause } from "./state/machine.js";
import { RoundTrips } from "./state/round-trip.js";
import { StatsRecorder } from "./state/stats.js";
import { createConnectionStore } from "./state/store.js";
import type { Watchdog } from "./state/watchdog.js";
import { type Connection, type ConnectionEnd, openConnection } from "./transport/connection.js";
import { redactTokens, redactUrl, type WebSocketResolver } from "./transport/socket.js";
import { createUrlRotation } from "./transport/url-rotation.js";
import { after, systemClock } from "./util/clock.js";
import { createEmitter } from "./util/emitter.js";
import { consoleSink, createLogger } from "./util/logger.js";
import { randomId } from "./util/random-id.js";

const PING_FRAME = '{"type":"ping"}';
const ignorePresence: PresenceListener = () => {};

/** What the browser and Node entries differ in. */
export interface Platform {
  /** Finds a WebSocket implementation when the `WebSocket` option is not given. */
  readonly resolveWebSocket: WebSocketResolver;
  /** The store `positions: true` stands for; `chosenId` says the application gave `clientId`. */
  readonly defaultPositions: (clientId: string, chosenId: boolean) => PositionStore;
}

/** The client, given what differs between platforms. */
export function createClientWith<S extends ContractSpec = ContractSpec>(
  options: ClientOptions<S>,
  platform: Platform,
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
  const lifecycle =
    options.lifecycle === false ? undefined : (options.lifecycle ?? browserLifecycle());
  const log = createLogger({
    sink: options.logger ?? consoleSink,
    level: options.logLevel ?? defaults.logLevel,
    now: () => clock.now(),
  });

  const positions = keepPositions(options, platform, clientId, (message, fields) =>
    log.warn(message, fields),
  );

  const urls = createUrlRotation(options.url);
  const attemptInputs: AttemptInputs = {
    urls,
    clientId,
    role,
    token: options.token,
    readinessUrl: options.readinessUrl,
    readinessTimeoutMs: options.readinessTimeoutMs ?? defaults.readinessTimeoutMs,
    WebSocket: options.WebSocket,
    resolveWebSocket: platform.resolveWebSocket,
    clock,
    stepTimeoutMs: connectTimeoutMs,
  };
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
  let lastCloseCode: number | undefined;
  let lastFailureFatal = false;
  /** A 4401 on an open connection was retried once with a fresh token since the last hello. */
  let authRetried = false;
  let paused = false;
  let stopWatchingLifecycle: (() => void) | undefined;

  const driver = createStateDriver({
    store,
    clock,
    attempt: () => planner.attempt,
    onChange(change) {
      log.debug("state changed", { prev: change.prev, next: change.next, ...change.cause });
      events.emit("state", change);
    },
  });
  const setState = driver.apply;

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
  const publishes = createPublishTracker({
    clock,
    transport,
    contract,
    maxWaiting: outbox.max,
    retry: options.publishRetry ?? defaultPublishRetry,
    random,
  });
  const presence = createPresenceTracker({
    transport,
    onError(error) {
      log.warn("presence error", { code: error.code, message: error.message });
      events.emit("error", error);
    },
  });
  const subscriptions = createSubscriptionRegistry({
    transport,
    clock,
    contract,
    wantsPresence: (topic) => presence.wants(topic),
    validateIncoming: options.validateIncoming ?? defaults.validateIncoming,
    serverFeatures: () => stats.serverFeatures,
    positions,
    events: {
      onGap(gap) {
        stats.gaps += 1;
        log.warn("subscription resumed with a gap", { ...gap });
        events.emit("gap", gap);
      },
      onError(error) {
        log.warn("subscription error", { code: error.code, message: error.message });
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
      onSubscribed(topic) {
        presence.subscribed(topic);
      },
    },
  });

  const roundTrips = new RoundTrips(clock);
  const sendPing = (): boolean => {
    if (!active?.send(PING_FRAME)) return false;
    stats.countSent("ping");
    return true;
  };

  const refresher = createRefresher({
    token: options.token,
    clock,
    stepTimeoutMs: connectTimeoutMs,
    log,
    serverRefreshes: () => stats.serverFeatures.includes("refresh"),
    send: (frame) => {
      if (!active?.send(frame)) return false;
      stats.countSent("refresh");
      return true;
    },
    nextId: () => transport.nextId("t"),
    onRefreshed(result) {
      log.info("credentials refreshed", { forbidden: result.forbidden });
      for (const topic of result.forbidden) {
        subscriptions.revoke(topic, {
          code: "forbidden",
          message: "the refreshed credentials do not allow it",
        });
      }
    },
    onRefused(error) {
      // Refused twice: reconnecting with the same token function would be refused again.
      const live = connection;
      if (!live) return;
      generation += 1;
      authRetried = true;
      const reason = `credentials refused: ${error.message}`;
      live.close(CloseCode.Unauthenticated, truncateCloseReason(reason));
      attemptEnded({
        cause: { code: CloseCode.Unauthenticated, reason, errorClass: "auth" },
        greeted: true,
      });
    },
  });

  const handleMessage = createDispatcher({
    stats,
    roundTrips,
    requests,
    publishes,
    subscriptions,
    presence,
    refresher,
    log,
    send: (frame) => active?.send(frame) ?? false,
    reportError: (error) => events.emit("error", error),
  });

  /**
   * First use of a lazy client connects; use after retries were spent counts as the
   * application asking again (README, "Reconnecting"), but a fatal close still needs
   * `reconnect()`.
   */
  const ensureStarted = () => {
    const state = store.getSnapshot().state;
    if (state === "idle" || (state === "failed" && !lastFailureFatal)) connect();
  };

  const watchLifecycle = () => {
    if (!lifecycle || stopWatchingLifecycle) return;
    stopWatchingLifecycle = lifecycle.watch({
      offline() {
        paused = true;
        if (store.getSnapshot().state !== "reconnecting") return;
        driver.stopTimers();
        driver.patch({ clearRetryAt: true });
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
      // A hidden page may be discarded or unloaded without another chance to save.
      hidden: () => positions?.flush(),
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
    const isCurrent = () => current === generation;
    const prepared = await prepareAttempt(
      attemptInputs,
      lastCloseCode === undefined
        ? { attempt: planner.attempt }
        : { attempt: planner.attempt, lastCloseCode },
      isCurrent,
    );
    if (!prepared || !isCurrent()) return;
    if (prepared.base !== undefined) stats.url = redactUrl(prepared.base);
    if (!prepared.ok) {
      attemptEnded({ cause: prepared.cause, greeted: false });
      return;
    }
    try {
      connection = openConnection({
        url: prepared.url,
        WebSocket: prepared.WebSocket,
        clock,
        connectTimeoutMs,
        helloTimeoutMs,
        maxMessageChars,
        handlers: {
          onHello: (hello) => {
            if (isCurrent()) opened(hello);
          },
          onMessage: (message) => {
            if (isCurrent()) handleMessage(message);
          },
          onFrame: () => {
            if (!isCurrent()) return;
            const now = clock.now();
            stats.lastActivityAt = now;
            watchdog?.touch(now);
          },
          onInvalid: (issue) => {
            if (!isCurrent()) return;
            log.warn("ignored an invalid frame from the server", { issue: issue.message });
            events.emit(
              "error",
              new LifelineError(
                issue.code,
                `ignored an invalid frame from the server: ${issue.message}`,
              ),
            );
          },
          onEnd: (end) => {
            if (isCurrent()) attemptEnded(end);
          },
        },
      });
    } catch (error) {
      // The constructor throws for a URL it refuses (a wrong scheme); never leave the
      // attempt hanging in `connecting`, and keep the token out of the reason.
      connection = undefined;
      const message = error instanceof Error ? error.message : String(error);
      attemptEnded({
        cause: {
          reason: `the socket could not be created: ${redactTokens(message)}`,
          errorClass: "unknown",
        },
        greeted: false,
      });
    }
  };

  const opened = (hello: HelloMessage) => {
    const now = clock.now();
    const live = connection;
    if (!live) return;
    active = live;
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
    authRetried = false;
    // Resubscribe and replay the outbox before announcing `open`: a listener of the state
    // event that publishes must not overtake messages queued earlier.
    subscriptions.resubscribeAll();
    outbox.flush(sendEntry);
    watchdog = watchConnection({
      connection: live,
      clock,
      driver,
      stats,
      intervalMs: hello.heartbeat_interval_ms,
      graceMs: heartbeatGraceMs,
      lateTimerToleranceMs: defaults.lateTimerToleranceMs,
      onProbeSent: () => roundTrips.pingSent(),
    });
    stopStableTimer = after(clock, stableAfterMs, () => {
      planner.reset();
      driver.patch({ attempt: 0 });
    });
    setState({ type: "hello" }, { reason: "the server said hello" });
    log.info("connected", { url: stats.url, connectionId: hello.connection_id });
  };

  const teardownConnection = (reason: string) => {
    watchdog?.stop();
    watchdog = undefined;
    stopStableTimer();
    stopStableTimer = () => {};
    const wasActive = active !== undefined;
    active = undefined;
    connection = undefined;
    stats.openedAt = undefined;
    refresher.connectionLost();
    if (wasActive) {
      requests.connectionLost(reason);
      subscriptions.connectionLost();
      presence.connectionLost();
      roundTrips.connectionLost(
        new LifelineError(ClientErrorCode.ConnectionLost, `ping unanswered: ${reason}`),
      );
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
    }
    lastCloseCode = cause.code;
    const failover = urls.advance(end);
    if (retriesWithFreshToken(end)) return;
    const plan = planner.plan({
      ...(cause.code === undefined ? {} : { code: cause.code }),
      ...(end.shutdownFloorMs === undefined ? {} : { serverFloorMs: end.shutdownFloorMs }),
      ...(end.overloaded ? { overloaded: true } : {}),
      ...(failover ? { failover } : {}),
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
      ...(failover ? { failover } : {}),
    });
    driver.own(
      after(clock, plan.delayMs, () =>
        startAttempt("retry", { reason: `retry ${plan.attempt} after ${plan.delayMs} ms` }),
      ),
    );
  };

  /**
   * Credentials that expired on an open connection (4401 after hello: the refresh did not
   * happen, say the device slept) are not a fatal refusal when a token function can give
   * a new token: one attempt at once asks it, and a refusal of that one is fatal.
   */
  const retriesWithFreshToken = (end: ConnectionEnd): boolean => {
    const fromServer = end.cause.errorClass === "auth" && end.greeted;
    if (!fromServer || authRetried || typeof options.token !== "function") return false;
    authRetried = true;
    setState({ type: "drop", retry: true }, end.cause, { nextRetryAt: clock.now() });
    log.info("credentials expired; reconnecting with a fresh token", { ...end.cause });
    driver.own(after(clock, 0, () => startAttempt("retry", { reason: "fresh credentials" })));
    return true;
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
    roundTrips.connectionLost(code);
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
        connection?.close(CloseCode.Normal, "reconnecting");
        teardownConnection("reconnect() was called");
        setState(
          { type: "drop", retry: true },
          {
            code: CloseCode.Normal,
            reason: "reconnect() was called",
          },
        );
      }
      startAttempt("connect", { reason: "reconnect() was called" });
    },
    close() {
      generation += 1;
      connection?.close(CloseCode.Normal, "closed by the application");
      teardownConnection("closed by the application");
      setState(
        { type: "close" },
        {
          code: CloseCode.Normal,
          reason: "closed by the application",
        },
      );
      closeWith(new LifelineError(ClientErrorCode.Closed, "the client was closed"));
      positions?.flush();
      stopWatchingLifecycle?.();
      stopWatchingLifecycle = undefined;
      log.flush();
    },
    on: (event, listener) => events.on(event, listener),
    subscribe(topic, handler, subscribeOptions = {}) {
      // Registered first, so the topic's subscribe asks for presence diffs.
      const stopPresence = subscribeOptions.presence
        ? presence.add(topic, subscribeOptions.onPresence ?? ignorePresence)
        : undefined;
      const unsubscribe = subscriptions.add(topic, handler as MessageHandler, subscribeOptions);
      ensureStarted();
      return () => {
        stopPresence?.();
        unsubscribe();
      };
    },
    presence(topic, requestOptions) {
      if (store.getSnapshot().state === "closed") {
        return Promise.reject(new LifelineError(ClientErrorCode.Closed, "the client is closed"));
      }
      return queryPresence(requests, topic, requestOptions);
    },
    members: (topic) => presence.members(topic),
    onDirect(handler, directOptions = {}) {
      const unsubscribe = subscriptions.add(INBOX_TOPIC, handler as MessageHandler, directOptions);
      ensureStarted();
      return unsubscribe;
    },
    publish(topic, data, publishOptions) {
      if (store.getSnapshot().state === "closed") {
        return Promise.reject(new LifelineError(ClientErrorCode.Closed, "the client is closed"));
      }
      return publishes.start(topic, data, publishOptions);
    },
    history(topic, historyOptions) {
      if (store.getSnapshot().state === "closed") {
        return Promise.reject(new LifelineError(ClientErrorCode.Closed, "the client is closed"));
      }
      return readHistory(requests, topic, historyOptions) as Promise<
        HistoryResult<TopicData<S, typeof topic>>
      >;
    },
    ping(pingOptions) {
      return roundTrips.measure(sendPing, pingOptions);
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
    stats: () =>
      stats.snapshot({
        snapshot: store.getSnapshot(),
        clientId,
        now: clock.now(),
        queueSize: outbox.size,
        pendingRequests: requests.size,
        pendingPublishes: publishes.size,
        roundTripMs: roundTrips.latestMs,
      }),
  };

  if (!(options.lazy ?? defaults.lazy)) {
    // Deferred one microtask so listeners attached right after createClient() see `connecting`.
    queueMicrotask(() => {
      if (store.getSnapshot().state === "idle") connect();
    });
  }
  return client;
}

/** The keeper of `options.positions`, with the platform's store for `true`. */
function keepPositions(
  options: ClientOptions<ContractSpec>,
  platform: Platform,
  clientId: string,
  warn: (message: string, fields: Record<string, unknown>) => void,
): PositionKeeper | undefined {
  const chosen = options.positions;
  if (chosen === undefined) return undefined;
  const saveEveryMs = options.positionsSaveMs ?? defaults.positionsSaveMs;
  if (!(Number.isFinite(saveEveryMs) && saveEveryMs >= 0)) {
    throw new RangeError(
      `createClient expects "positionsSaveMs" to be a number >= 0, got ${saveEveryMs}`,
    );
  }
  const store =
    chosen === true ? platform.defaultPositions(clientId, options.clientId !== undefined) : chosen;
  if (typeof store?.get !== "function" || typeof store.set !== "function") {
    throw new TypeError(
      'createClient expects "positions" to be true or a store with get(topic) and set(topic, position)',
    );
  }
  return createPositionKeeper({ store, clock: options.clock ?? systemClock, saveEveryMs, warn });
}
