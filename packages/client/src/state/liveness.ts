import type { ClientMessage } from "@lifeline/protocol";
import type { Clock } from "../util/clock.js";
import type { StateDriver } from "./driver.js";
import type { TransitionCause } from "./machine.js";
import type { StatsRecorder } from "./stats.js";
import { createWatchdog, type Watchdog } from "./watchdog.js";

const PING: ClientMessage = { type: "ping" };

/**
 * Wires the watchdog of one open connection to the lifecycle: late heartbeats make the
 * client `degraded` and send a probe `ping`; an answer makes it `open` again; silence past
 * interval + grace drops the socket as half-open, which the reconnect logic then handles
 * like any other drop (cause class `timeout`).
 */
export function watchConnection(options: {
  /** The open connection: probes go out on it, and it is dropped when found half-open. */
  readonly connection: {
    send(message: ClientMessage): boolean;
    abandon(cause: TransitionCause): void;
  };
  readonly clock: Clock;
  readonly driver: StateDriver;
  readonly stats: StatsRecorder;
  /** `heartbeat_interval_ms` from `hello`; 0 disables the watchdog. */
  readonly intervalMs: number;
  readonly graceMs: number;
  readonly lateTimerToleranceMs: number;
  /** Called after each probe `ping` went out, so its `pong` measures a round trip. */
  readonly onProbeSent?: () => void;
}): Watchdog {
  const { connection, driver, stats, intervalMs, graceMs } = options;
  return createWatchdog({
    clock: options.clock,
    intervalMs,
    graceMs,
    lateTimerToleranceMs: options.lateTimerToleranceMs,
    onLate: () => {
      driver.apply(
        { type: "heartbeat_late" },
        {
          reason: `no frame from the server for ${intervalMs + graceMs / 2} ms`,
          errorClass: "timeout",
        },
      );
    },
    onRecovered: () => {
      driver.apply({ type: "heartbeat_ok" }, { reason: "the server answered again" });
    },
    probe: () => {
      if (!connection.send(PING)) return;
      stats.probesSent += 1;
      stats.countSent("ping");
      options.onProbeSent?.();
    },
    onDead: (silentForMs) => {
      connection.abandon({
        reason: `no frame from the server for ${silentForMs} ms: the connection is half-open`,
        errorClass: "timeout",
      });
    },
  });
}
