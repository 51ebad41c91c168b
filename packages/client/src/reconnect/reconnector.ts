import { CloseCode, type ErrorBody, isFatalClose, truncateCloseReason } from "@lifeline/protocol";
import type { ConnectionControl } from "../core/public-api.js";
import { ClientErrorCode, LifelineError } from "../errors.js";
import type { PositionKeeper } from "../positions/keeper.js";
import { isOpen, type TransitionCause } from "../state/machine.js";
import type { ConnectionStore } from "../state/store.js";
import type { ConnectionEnd } from "../transport/connection.js";
import type { TransportName } from "../transport/transport.js";
import { after } from "../util/clock.js";
import { type AttemptParts, AttemptRunner } from "./attempt-runner.js";
import type { PageLifecycle } from "./page-lifecycle.js";
import type { RetryPlan } from "./planner.js";

export interface ReconnectorParts extends AttemptParts {
  readonly store: ConnectionStore;
  readonly positions: PositionKeeper | undefined;
  /** The page's online and visibility signals; undefined outside a page or when turned off. */
  readonly lifecycle: PageLifecycle | undefined;
  /** The `token` option is a function: a 4401 on an open connection may ask it again. */
  readonly tokenIsFunction: boolean;
}

/**
 * Keeps the client connected: starts attempts, decides after each drop whether and when
 * to try again (README, "Reconnecting"), pauses retries while the page is offline, and
 * carries out the application's `connect()`, `reconnect()` and `close()`.
 */
export class Reconnector implements ConnectionControl {
  readonly #runner: AttemptRunner;
  #lastCloseCode: number | undefined;
  #lastFailureFatal = false;
  /** A 4401 on an open connection was retried once with a fresh token since the last hello. */
  #authRetried = false;
  #paused = false;
  #stopWatchingLifecycle: (() => void) | undefined;

  readonly #parts: ReconnectorParts;

  constructor(parts: ReconnectorParts) {
    this.#parts = parts;
    this.#runner = new AttemptRunner(parts, {
      tokenContext: () =>
        this.#lastCloseCode === undefined
          ? { attempt: parts.planner.attempt }
          : { attempt: parts.planner.attempt, lastCloseCode: this.#lastCloseCode },
      onOpened: () => {
        this.#lastFailureFatal = false;
        this.#authRetried = false;
      },
      onEnded: (end) => this.#ended(end),
    });
  }

  get #state() {
    return this.#parts.store.getSnapshot().state;
  }

  /**
   * First use of a lazy client connects; use after retries were spent counts as the
   * application asking again (README, "Reconnecting"), but a fatal close still needs
   * `reconnect()`.
   */
  ensureStarted(): void {
    const state = this.#state;
    if (state === "idle" || (state === "failed" && !this.#lastFailureFatal)) this.connect();
  }

  connect(): void {
    const state = this.#state;
    if (state === "connecting" || isOpen(state)) return;
    if (state === "failed" || state === "closed") this.#parts.planner.reset();
    this.#startAttempt("connect", { reason: "connect() was called" });
  }

  reconnect(): void {
    const state = this.#state;
    if (state === "closed" || state === "idle") {
      this.connect();
      return;
    }
    this.#runner.supersede();
    this.#parts.planner.reset();
    if (state === "connecting" || isOpen(state)) {
      this.#parts.link.current?.close(CloseCode.Normal, "reconnecting");
      this.#runner.teardown("reconnect() was called");
      this.#parts.driver.apply(
        { type: "drop", retry: true },
        { code: CloseCode.Normal, reason: "reconnect() was called" },
      );
    }
    this.#startAttempt("connect", { reason: "reconnect() was called" });
  }

  close(): void {
    const { link, driver, messaging, roundTrips } = this.#parts;
    this.#runner.supersede();
    link.current?.close(CloseCode.Normal, "closed by the application");
    this.#runner.teardown("closed by the application");
    this.#runner.stop();
    driver.apply(
      { type: "close" },
      { code: CloseCode.Normal, reason: "closed by the application" },
    );
    const closed = new LifelineError(ClientErrorCode.Closed, "the client was closed");
    messaging.requests.rejectAll(closed);
    messaging.publishes.rejectAll(closed);
    roundTrips.connectionLost(closed);
    messaging.outbox.clear();
    this.#parts.positions?.flush();
    this.#stopWatchingLifecycle?.();
    this.#stopWatchingLifecycle = undefined;
    this.#parts.settings.log.flush();
  }

  setTransports(transports: readonly TransportName[]): void {
    this.#runner.useTransports(transports);
    // The wire of the attempt under way, or of the open connection.
    const wire = this.#parts.stats.transport;
    const state = this.#state;
    if (wire === this.#runner.nextTransport) return;
    if (state === "connecting" || isOpen(state)) {
      this.#parts.settings.log.info("moving to another transport", {
        from: wire,
        to: this.#runner.nextTransport,
      });
      this.reconnect();
    }
  }

  /** The server refused a refreshed token twice: reconnecting with the same token function would be refused again. */
  credentialsRefused(error: ErrorBody): void {
    const live = this.#parts.link.current;
    if (!live) return;
    this.#runner.supersede();
    this.#authRetried = true;
    const reason = `credentials refused: ${error.message}`;
    live.close(CloseCode.Unauthenticated, truncateCloseReason(reason));
    this.#ended({
      cause: { code: CloseCode.Unauthenticated, reason, errorClass: "auth" },
      greeted: true,
    });
  }

  #startAttempt(type: "connect" | "retry", cause: TransitionCause): void {
    const transport = this.#runner.nextTransport;
    if (!this.#parts.driver.apply({ type }, cause, { transport })) return;
    const current = this.#runner.supersede();
    this.#parts.stats.attemptStarted(this.#parts.settings.clock.now(), transport);
    this.#watchLifecycle();
    void this.#runner.run(current);
  }

  #watchLifecycle(): void {
    const { lifecycle } = this.#parts;
    const { log } = this.#parts.settings;
    if (!lifecycle || this.#stopWatchingLifecycle) return;
    this.#stopWatchingLifecycle = lifecycle.watch({
      offline: () => {
        this.#paused = true;
        if (this.#state !== "reconnecting") return;
        this.#parts.driver.stopTimers();
        this.#parts.driver.patch({ clearRetryAt: true });
        log.info("offline: retries paused");
      },
      online: () => {
        this.#paused = false;
        this.#retryNow("the network came back online");
      },
      visible: () => {
        if (isOpen(this.#state)) this.#runner.checkLiveness();
        else this.#retryNow("the page became visible");
      },
      // A hidden page may be discarded or unloaded without another chance to save.
      hidden: () => this.#parts.positions?.flush(),
    });
  }

  /** Online/visible: a pending retry runs now; a non-fatal `failed` starts over. */
  #retryNow(reason: string): void {
    const state = this.#state;
    if (state === "reconnecting") this.#startAttempt("connect", { reason });
    else if (state === "failed" && !this.#lastFailureFatal) {
      this.#parts.planner.reset();
      this.#startAttempt("connect", { reason });
    }
  }

  #ended(end: ConnectionEnd): void {
    const { cause } = end;
    const { stats } = this.#parts;
    this.#runner.teardown(cause.reason);
    if (!end.greeted) {
      stats.attemptEnded({
        outcome: "failed",
        reason: cause.reason,
        ...(cause.errorClass === undefined ? {} : { errorClass: cause.errorClass }),
        ...(cause.code === undefined ? {} : { code: cause.code }),
        ...(stats.url === undefined ? {} : { url: stats.url }),
      });
    }
    this.#lastCloseCode = cause.code;
    const failover = this.#parts.inputs.urls.advance(end);
    if (this.#retriesWithFreshToken(end)) return;
    const plan = this.#parts.planner.plan({
      ...(cause.code === undefined ? {} : { code: cause.code }),
      ...(end.shutdownFloorMs === undefined ? {} : { serverFloorMs: end.shutdownFloorMs }),
      ...(end.overloaded ? { overloaded: true } : {}),
      ...(failover ? { failover } : {}),
    });
    if (!plan.retry) this.#giveUp(cause, plan.reason);
    else this.#retryLater(cause, plan, failover);
  }

  #giveUp(cause: TransitionCause, planReason: string): void {
    this.#lastFailureFatal = cause.code !== undefined && isFatalClose(cause.code);
    const reason = this.#lastFailureFatal ? cause.reason : `${planReason}; last: ${cause.reason}`;
    this.#parts.settings.log.error("connection failed, not retrying", {
      ...cause,
      plan: planReason,
    });
    this.#parts.driver.apply({ type: "drop", retry: false }, { ...cause, reason });
  }

  #retryLater(cause: TransitionCause, plan: RetryPlan & { retry: true }, failover: boolean): void {
    const { settings, driver } = this.#parts;
    const { log, clock } = settings;
    const { lifecycle } = this.#parts;
    if (this.#paused || (lifecycle && !lifecycle.isOnline())) {
      this.#paused = true;
      driver.apply({ type: "drop", retry: true }, cause);
      log.info("offline: waiting for the network before retrying", { ...cause });
      return;
    }
    driver.apply({ type: "drop", retry: true }, cause, { nextRetryAt: clock.now() + plan.delayMs });
    log.warn("connection lost, retrying", {
      ...cause,
      delayMs: plan.delayMs,
      attempt: plan.attempt,
      ...(failover ? { failover } : {}),
    });
    driver.own(
      after(clock, plan.delayMs, () =>
        this.#startAttempt("retry", { reason: `retry ${plan.attempt} after ${plan.delayMs} ms` }),
      ),
    );
  }

  /**
   * Credentials that expired on an open connection (4401 after hello: the refresh did not
   * happen, say the device slept) are not a fatal refusal when a token function can give
   * a new token: one attempt at once asks it, and a refusal of that one is fatal.
   */
  #retriesWithFreshToken(end: ConnectionEnd): boolean {
    const fromServer = end.cause.errorClass === "auth" && end.greeted;
    if (!fromServer || this.#authRetried || !this.#parts.tokenIsFunction) return false;
    this.#authRetried = true;
    const { driver, settings } = this.#parts;
    driver.apply({ type: "drop", retry: true }, end.cause, { nextRetryAt: settings.clock.now() });
    settings.log.info("credentials expired; reconnecting with a fresh token", { ...end.cause });
    driver.own(
      after(settings.clock, 0, () => this.#startAttempt("retry", { reason: "fresh credentials" })),
    );
    return true;
  }
}
