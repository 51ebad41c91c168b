import { CloseCode, type HelloMessage, type ServerMessage } from "@lifeline/protocol";
import type { ClientEvents } from "../api.js";
import type { ConnectionLink } from "../core/link.js";
import type { Messaging } from "../core/messaging.js";
import type { ClientSettings } from "../core/settings.js";
import { ClientErrorCode, LifelineError } from "../errors.js";
import { defaults } from "../options.js";
import type { Refresher } from "../session/refresh.js";
import type { TokenContext } from "../session/token.js";
import type { StateDriver } from "../state/driver.js";
import { watchConnection } from "../state/liveness.js";
import type { RoundTrips } from "../state/round-trip.js";
import type { StatsRecorder } from "../state/stats.js";
import type { Watchdog } from "../state/watchdog.js";
import {
  type Connection,
  type ConnectionEnd,
  type ConnectionHandlers,
  openConnection,
} from "../transport/connection.js";
import { redactTokens, redactUrl } from "../transport/redact.js";
import { createTransportSelection, type TransportSelection } from "../transport/selection.js";
import type { TransportName } from "../transport/transport.js";
import { after } from "../util/clock.js";
import type { Emitter } from "../util/emitter.js";
import type { ReconnectPlanner } from "./planner.js";
import type { AttemptInputs, PreparedAttempt } from "./prepare-attempt.js";
import { prepareAttempt } from "./prepare-attempt.js";
import { TransportProbe } from "./transport-probe.js";

/** What one attempt touches: the parts it opens, feeds and, when it ends, tears down. */
export interface AttemptParts {
  readonly settings: ClientSettings;
  readonly inputs: AttemptInputs;
  readonly driver: StateDriver;
  readonly planner: ReconnectPlanner;
  readonly stats: StatsRecorder;
  readonly events: Emitter<ClientEvents>;
  readonly link: ConnectionLink;
  readonly messaging: Messaging;
  readonly roundTrips: RoundTrips;
  readonly refresher: Refresher;
  /** Handles each valid frame after `hello` (core/router.ts). */
  readonly route: (message: ServerMessage) => void;
}

export interface AttemptHooks {
  /** What the token function is told about the attempt it is asked for. */
  readonly tokenContext: () => TokenContext;
  /** The server said `hello`: called before the state turns `open`. */
  readonly onOpened: () => void;
  /** The attempt failed or its connection ended (not when the application closed it). */
  readonly onEnded: (end: ConnectionEnd) => void;
}

/**
 * Runs one connection attempt at a time: prepares it (URL, readiness, token, transport),
 * opens the connection, and on `hello` resubscribes, replays the outbox and starts the
 * watchdog. Each attempt has a generation: callbacks of a superseded attempt are ignored.
 */
export class AttemptRunner {
  /** Bumped whenever an attempt starts or the client closes: async steps of older attempts stop. */
  #generation = 0;
  #watchdog: Watchdog | undefined;
  #stopStableTimer: () => void = () => {};

  readonly #parts: AttemptParts;
  readonly #hooks: AttemptHooks;
  readonly #selection: TransportSelection;
  readonly #probe: TransportProbe;

  constructor(parts: AttemptParts, hooks: AttemptHooks) {
    this.#parts = parts;
    this.#hooks = hooks;
    const { settings } = parts;
    this.#probe = new TransportProbe({
      settings,
      inputs: parts.inputs,
      stats: parts.stats,
      tokenContext: hooks.tokenContext,
      adopt: (connection, hello) => this.#adopt(connection, hello),
      release: (end) => hooks.onEnded(end),
    });
    this.#selection = createTransportSelection({
      transports: settings.transports,
      fallbackAfter: settings.fallbackAfter,
      probeBackoff: settings.probeBackoff,
      random: settings.random,
      clock: settings.clock,
      probe: (wire) => this.#probe.start(wire),
    });
    this.#probe.attach(this.#selection);
  }

  /** The wire the next attempt uses. */
  get nextTransport(): TransportName {
    return this.#selection.current;
  }

  /** Replaces the wires allowed; the next attempt uses the first. */
  useTransports(transports: readonly TransportName[]): void {
    this.#probe.cancel();
    this.#selection.use(transports);
  }

  /** Stops probing for good: the client closed. */
  stop(): void {
    this.#probe.cancel();
    this.#selection.stop();
  }

  /** Makes the running attempt stale; returns the generation of the next one. */
  supersede(): number {
    this.#generation += 1;
    return this.#generation;
  }

  /** Re-checks the open connection's liveness now (the page became visible). */
  checkLiveness(): void {
    this.#watchdog?.check();
  }

  /** Runs the attempt of generation `current` (from `supersede()`). */
  async run(current: number): Promise<void> {
    const isCurrent = () => current === this.#generation;
    const wire = this.#selection.current;
    this.#parts.stats.transport = wire;
    const context = this.#hooks.tokenContext();
    const prepared = await prepareAttempt(this.#parts.inputs, context, isCurrent, wire);
    if (!prepared || !isCurrent()) return;
    if (prepared.base !== undefined) this.#parts.stats.url = redactUrl(prepared.base);
    if (!prepared.ok) {
      this.#hooks.onEnded({ cause: prepared.cause, greeted: false });
      return;
    }
    this.#open(prepared, isCurrent);
  }

  /** Stops everything tied to the current connection; unanswered work waits for the next. */
  teardown(reason: string): void {
    this.#probe.cancel();
    this.#selection.disconnected();
    this.#release(reason);
  }

  /** Lets go of the current connection: its watchdog, its unanswered work. */
  #release(reason: string): void {
    const { link, messaging, refresher, roundTrips, stats } = this.#parts;
    this.#watchdog?.stop();
    this.#watchdog = undefined;
    this.#stopStableTimer();
    this.#stopStableTimer = () => {};
    const wasActive = link.active !== undefined;
    link.active = undefined;
    link.current = undefined;
    stats.openedAt = undefined;
    refresher.connectionLost();
    if (wasActive) {
      messaging.requests.connectionLost(reason);
      messaging.subscriptions.connectionLost();
      messaging.presence.connectionLost();
      roundTrips.connectionLost(
        new LifelineError(ClientErrorCode.ConnectionLost, `ping unanswered: ${reason}`),
      );
    }
    messaging.outbox.requeue(messaging.publishes.takeUnacknowledged());
  }

  #open(prepared: PreparedAttempt & { ok: true }, isCurrent: () => boolean): void {
    const { settings, link } = this.#parts;
    try {
      link.current = openConnection({
        url: prepared.url,
        transport: prepared.transport,
        protocols: prepared.protocols,
        codecs: prepared.codecs,
        clock: settings.clock,
        connectTimeoutMs: settings.connectTimeoutMs,
        helloTimeoutMs: settings.helloTimeoutMs,
        maxMessageChars: settings.maxMessageChars,
        handlers: this.#handlers(isCurrent),
      });
    } catch (error) {
      // The constructor throws for a URL it refuses (a wrong scheme); never leave the
      // attempt hanging in `connecting`, and keep the token out of the reason.
      link.current = undefined;
      const message = error instanceof Error ? error.message : String(error);
      this.#hooks.onEnded({
        cause: {
          reason: `the socket could not be created: ${redactTokens(message)}`,
          errorClass: "unknown",
        },
        greeted: false,
      });
    }
  }

  #handlers(isCurrent: () => boolean): ConnectionHandlers {
    const { settings, stats, events } = this.#parts;
    return {
      onHello: (hello) => {
        if (isCurrent()) this.#opened(hello);
      },
      onMessage: (message) => {
        if (isCurrent()) this.#parts.route(message);
      },
      onFrame: () => {
        if (!isCurrent()) return;
        const now = settings.clock.now();
        stats.lastActivityAt = now;
        this.#watchdog?.touch(now);
      },
      onInvalid: (issue) => {
        if (!isCurrent()) return;
        settings.log.warn("ignored an invalid frame from the server", { issue: issue.message });
        events.emit(
          "error",
          new LifelineError(
            issue.code,
            `ignored an invalid frame from the server: ${issue.message}`,
          ),
        );
      },
      onEnd: (end) => {
        if (!isCurrent() || this.#probe.hold(end)) return;
        this.#selection.attemptEnded(end);
        this.#hooks.onEnded(end);
      },
    };
  }

  #opened(hello: HelloMessage): void {
    const { settings, link, messaging, driver, stats } = this.#parts;
    const live = link.current;
    if (!live) return;
    link.active = live;
    this.#selection.connected();
    stats.codec = live.codec;
    this.#recordOpen(hello);
    this.#hooks.onOpened();
    // Resubscribe and replay the outbox before announcing `open`: a listener of the state
    // event that publishes must not overtake messages queued earlier.
    messaging.subscriptions.resubscribeAll();
    messaging.outbox.flush(messaging.sendEntry);
    this.#watchdog = watchConnection({
      connection: live,
      clock: settings.clock,
      driver,
      stats,
      intervalMs: hello.heartbeat_interval_ms,
      graceMs: settings.heartbeatGraceMs,
      lateTimerToleranceMs: defaults.lateTimerToleranceMs,
      onProbeSent: () => this.#parts.roundTrips.pingSent(),
    });
    this.#stopStableTimer = after(settings.clock, settings.stableAfterMs, () => {
      this.#parts.planner.reset();
      driver.patch({ attempt: 0 });
    });
    if (
      !driver.apply({ type: "hello" }, { reason: "the server said hello" }, { codec: live.codec })
    ) {
      // Already open: a probe's connection was adopted (`#adopt`).
      driver.patch({ codec: live.codec, transport: live.transport });
    }
    settings.log.info("connected", { url: stats.url, connectionId: hello.connection_id });
  }

  /**
   * A probe of the preferred wire said `hello`: it becomes the connection. The fallback
   * connection is let go (the server closed it already, or will: takeover 4409); the
   * state stays `open`, and the adopted connection resubscribes from the delivered offsets
   * and replays the outbox with the same ids, so nothing is lost or delivered twice.
   */
  #adopt(connection: Connection, hello: HelloMessage): ConnectionHandlers {
    const { link, driver, stats, settings } = this.#parts;
    const current = this.supersede();
    const from = link.current?.transport;
    link.current?.close(CloseCode.Normal, "moved to another transport");
    this.#release(`moved from ${from ?? "a fallback"} to ${connection.transport}`);
    link.current = connection;
    stats.transport = connection.transport;
    // A degraded fallback is replaced by a connection that just proved itself.
    driver.apply({ type: "heartbeat_ok" }, { reason: "moved to another transport" });
    settings.log.info("moved to the preferred transport", { from, to: connection.transport });
    this.#opened(hello);
    return this.#handlers(() => current === this.#generation);
  }

  #recordOpen(hello: HelloMessage): void {
    const { stats } = this.#parts;
    const now = this.#parts.settings.clock.now();
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
  }
}
