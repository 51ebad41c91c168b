import { type BackoffPolicy, createSchedule, exponential } from "@lifeline/backoff";
import { CloseCode } from "@lifeline/protocol";
import { after, type Clock } from "../util/clock.js";
import type { TransportName } from "./transport.js";

/**
 * Which wire the next attempt uses (README, "Transports and fallback"): the first of
 * `transports` until it fails `fallbackAfter` attempts in a row (or a proxy refuses the
 * WebSocket upgrade with an HTTP status), then the next; while on a later one, the first is
 * probed in the background with backoff, and a probe that gets `hello` moves back to it.
 * A connection that worked and then dropped is never a reason to fall back: a server
 * restart must not move every client to the slower wire.
 */

export type { TransportName };

/** Every wire a client knows. */
export const transportNames: readonly TransportName[] = ["websocket", "sse"];

/** How an attempt on a wire ended, as far as the choice of wire cares. */
export interface AttemptOutcome {
  /** The server's `hello` arrived. */
  readonly greeted: boolean;
  /** The close code, when the socket closed with one. */
  readonly code?: number;
  /** The HTTP status that refused the WebSocket upgrade or the SSE stream, when known. */
  readonly refusedStatus?: number;
}

export interface SelectionOptions {
  readonly transports: readonly TransportName[];
  readonly fallbackAfter: number;
  readonly probeBackoff: BackoffPolicy;
  readonly random: () => number;
  readonly clock: Clock;
  /** Starts a probe of `transport`; the caller reports its end with `probeEnded`. */
  readonly probe: (transport: TransportName) => void;
}

export interface TransportSelection {
  /** The wire the next attempt uses. */
  readonly current: TransportName;
  /** The wire a probe is trying, while one runs. */
  readonly probing: TransportName | undefined;
  /** An attempt of the main connection on `current` ended; may move to another wire. */
  attemptEnded(outcome: AttemptOutcome): void;
  /** The main connection got `hello` on `current`: probing of a preferred wire starts. */
  connected(): void;
  /** The main connection was lost: probing stops until it is back. */
  disconnected(): void;
  /** A probe ended; a greeted one makes its wire `current` (the caller switches to it). */
  probeEnded(outcome: AttemptOutcome): void;
  /**
   * Replaces the wires allowed (the application's `setTransports`): the next attempt uses
   * the first, failures count from zero, and a pending probe is called off.
   */
  use(transports: readonly TransportName[]): void;
  /** Stops the probe timer for good (the client closed). */
  stop(): void;
}

/** The probe schedule's default: a first try after ~5 s, then up to every 5 minutes. */
export function defaultProbeBackoff(): BackoffPolicy {
  return exponential({
    baseMs: 5000,
    factor: 2,
    capMs: 300_000,
    maxAttempts: Number.POSITIVE_INFINITY,
    jitter: "equal",
  });
}

/** HTTP statuses of the server itself shedding load: the other wire would get the same. */
const overloadStatuses = new Set([429, 503]);

/**
 * True when an attempt failed because of the wire, not because of the server's answer: no
 * `hello`, and no close code the server sends on purpose (4401, 4429, 1013... prove the
 * wire works). A refused upgrade, a network error, a timeout and 1006 count.
 */
export function failedOnTheWire(outcome: AttemptOutcome): boolean {
  if (outcome.greeted) return false;
  const { code } = outcome;
  return code === undefined || code === CloseCode.Abnormal || code === 1005;
}

/** An HTTP status on the upgrade that the server itself would not give for load. */
export function refusedByProxy(outcome: AttemptOutcome): boolean {
  const status = outcome.refusedStatus;
  return status !== undefined && !outcome.greeted && !overloadStatuses.has(status);
}

export function createTransportSelection(options: SelectionOptions): TransportSelection {
  const { fallbackAfter, clock } = assertSelection(options);
  let transports = options.transports;
  let preferred = transports[0] as TransportName;
  const schedule = createSchedule(options.probeBackoff, { random: options.random });
  let index = 0;
  let failures = 0;
  let probing: TransportName | undefined;
  let stopTimer: (() => void) | undefined;
  let stopped = false;

  const current = () => transports[index] as TransportName;

  const cancelTimer = () => {
    stopTimer?.();
    stopTimer = undefined;
  };

  const armProbe = () => {
    if (stopped || stopTimer || probing || current() === preferred) return;
    const delayMs = schedule.next();
    if (delayMs === undefined) return;
    stopTimer = after(clock, delayMs, () => {
      stopTimer = undefined;
      probing = preferred;
      options.probe(preferred);
    });
  };

  const moveOn = () => {
    index = (index + 1) % transports.length;
    failures = 0;
  };

  return {
    get current() {
      return current();
    },
    get probing() {
      return probing;
    },
    attemptEnded(outcome) {
      if (!failedOnTheWire(outcome)) {
        if (outcome.greeted) failures = 0;
        return;
      }
      failures += 1;
      const proxy = current() === "websocket" && refusedByProxy(outcome);
      if (transports.length > 1 && (proxy || failures >= fallbackAfter)) moveOn();
    },
    connected() {
      failures = 0;
      if (current() === preferred) {
        schedule.reset();
        return;
      }
      armProbe();
    },
    disconnected() {
      cancelTimer();
    },
    probeEnded(outcome) {
      const tried = probing;
      probing = undefined;
      if (tried === undefined || stopped) return;
      if (outcome.greeted) {
        index = transports.indexOf(tried);
        failures = 0;
        schedule.reset();
        return;
      }
      armProbe();
    },
    use(next) {
      transports = assertTransports(next);
      preferred = transports[0] as TransportName;
      index = 0;
      failures = 0;
      probing = undefined;
      cancelTimer();
      schedule.reset();
    },
    stop() {
      stopped = true;
      probing = undefined;
      cancelTimer();
    },
  };
}

function assertSelection(options: SelectionOptions): SelectionOptions {
  assertTransports(options.transports);
  const { fallbackAfter } = options;
  if (!(Number.isInteger(fallbackAfter) && fallbackAfter >= 1)) {
    throw new RangeError(
      `createClient expects "fallbackAfter" to be an integer >= 1, got ${fallbackAfter}`,
    );
  }
  return options;
}

/** `transports` as given, or a `TypeError` saying what it must be. */
export function assertTransports(transports: readonly TransportName[]): readonly TransportName[] {
  if (
    !Array.isArray(transports) ||
    transports.length === 0 ||
    transports.some((name) => !transportNames.includes(name)) ||
    new Set(transports).size !== transports.length
  ) {
    throw new TypeError(
      `expected "transports" to list "websocket" and/or "sse" once each, got ${JSON.stringify(transports)}`,
    );
  }
  return [...transports];
}
