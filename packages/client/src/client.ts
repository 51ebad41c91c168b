import type { ContractSpec } from "@lifeline/protocol";
import type { ClientEvents, LifelineClient } from "./api.js";
import { createClientRefresher } from "./core/credentials.js";
import { ConnectionLink } from "./core/link.js";
import { createMessaging } from "./core/messaging.js";
import { assembleClient } from "./core/public-api.js";
import { createDispatcher } from "./core/router.js";
import { type ClientSettings, resolveSettings } from "./core/settings.js";
import { type ClientOptions, defaults } from "./options.js";
import { keepPositions } from "./positions/from-options.js";
import type { PositionStore } from "./positions/keeper.js";
import { browserLifecycle } from "./reconnect/page-lifecycle.js";
import { createReconnectPlanner, defaultBackoff } from "./reconnect/planner.js";
import type { AttemptInputs } from "./reconnect/prepare-attempt.js";
import { Reconnector } from "./reconnect/reconnector.js";
import { createStateDriver } from "./state/driver.js";
import { RoundTrips } from "./state/round-trip.js";
import { StatsRecorder } from "./state/stats.js";
import { createConnectionStore } from "./state/store.js";
import { codecLoader } from "./transport/codec.js";
import { createUrlRotation, type UrlRotation } from "./transport/url-rotation.js";
import type { WebSocketResolver } from "./transport/websocket.js";
import { createEmitter } from "./util/emitter.js";

/** What the browser and Node entries differ in. */
export interface Platform {
  /** Finds a WebSocket implementation when the `WebSocket` option is not given. */
  readonly resolveWebSocket: WebSocketResolver;
  /** The store `positions: true` stands for; `chosenId` says the application gave `clientId`. */
  readonly defaultPositions: (clientId: string, chosenId: boolean) => PositionStore;
}

/**
 * The client, given what differs between platforms: the parts are built in the order
 * they depend on each other, then the reconnector drives them and the public API
 * delegates to them.
 */
export function createClientWith<S extends ContractSpec = ContractSpec>(
  options: ClientOptions<S>,
  platform: Platform,
): LifelineClient<S> {
  const settings = resolveSettings(options);
  const lifecycle =
    options.lifecycle === false ? undefined : (options.lifecycle ?? browserLifecycle());
  const { clock, log } = settings;
  const positions = keepPositions(options, platform.defaultPositions, settings.clientId, (m, f) =>
    log.warn(m, f),
  );
  const urls = createUrlRotation(options.url);
  const planner = plannerFor(options, settings.random);
  const stats = new StatsRecorder();
  const link = new ConnectionLink(stats);
  const { events, store, driver } = observableState(settings, () => planner.attempt);
  // The parts below call back into the reconnector, made once they all exist.
  let reconnector: Reconnector | undefined;
  const ensureStarted = () => reconnector?.ensureStarted();
  const messaging = createMessaging({
    options,
    settings,
    link,
    stats,
    events,
    positions,
    ensureStarted,
  });
  const roundTrips = new RoundTrips(clock);
  const refresher = createClientRefresher({
    token: options.token,
    settings,
    stats,
    link,
    messaging,
    onRefused: (error) => reconnector?.credentialsRefused(error),
  });
  const route = createDispatcher({
    ...messaging,
    stats,
    roundTrips,
    refresher,
    log,
    send: (frame) => link.send(frame),
    reportError: (error) => events.emit("error", error),
  });
  const inputs = attemptInputs(options, platform, settings, urls);
  const parts = { settings, inputs, driver, planner, stats, events, link, messaging, roundTrips };
  const tokenIsFunction = typeof options.token === "function";
  const running = new Reconnector({
    ...parts,
    refresher,
    route,
    store,
    positions,
    lifecycle,
    tokenIsFunction,
  });
  reconnector = running;
  if (!(options.lazy ?? defaults.lazy)) {
    // Deferred one microtask so listeners attached right after createClient() see `connecting`.
    queueMicrotask(() => {
      if (store.getSnapshot().state === "idle") running.connect();
    });
  }
  return assembleClient<S>({
    settings,
    store,
    events,
    stats,
    link,
    messaging,
    roundTrips,
    reconnector: running,
  });
}

/** The state store, the driver that alone changes it, and the events it emits. */
function observableState(settings: ClientSettings, attempt: () => number) {
  const { clock, log } = settings;
  const events = createEmitter<ClientEvents>((error) =>
    log.error("an event listener threw", { error: String(error) }),
  );
  const store = createConnectionStore({
    state: "idle",
    status: "idle",
    attempt: 0,
    since: clock.now(),
  });
  const driver = createStateDriver({
    store,
    clock,
    attempt,
    onChange(change) {
      log.debug("state changed", { prev: change.prev, next: change.next, ...change.cause });
      events.emit("state", change);
    },
  });
  return { events, store, driver };
}

/** The reconnect planner of the `backoff` and `slowDown` options. */
function plannerFor(options: ClientOptions<ContractSpec>, random: () => number) {
  return createReconnectPlanner({
    policy: options.backoff ?? defaultBackoff(),
    random,
    ...(options.slowDown ? { slowDown: options.slowDown } : {}),
  });
}

/** What every attempt is prepared from (reconnect/prepare-attempt.ts). */
function attemptInputs(
  options: ClientOptions<ContractSpec>,
  platform: Platform,
  settings: ClientSettings,
  urls: UrlRotation,
): AttemptInputs {
  return {
    urls,
    clientId: settings.clientId,
    role: settings.role,
    token: options.token,
    readinessUrl: options.readinessUrl,
    readinessTimeoutMs: options.readinessTimeoutMs ?? defaults.readinessTimeoutMs,
    WebSocket: options.WebSocket,
    resolveWebSocket: platform.resolveWebSocket,
    sseUrl: options.sseUrl,
    sse: { maxEventChars: settings.maxMessageChars + 64, ...options.sse },
    codec: settings.codec,
    codecs: codecLoader(settings.codec, settings.maxMessageChars),
    clock: settings.clock,
    stepTimeoutMs: settings.connectTimeoutMs,
  };
}
