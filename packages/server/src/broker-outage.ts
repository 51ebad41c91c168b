import type { Broker, BrokerHealth } from "./broker.js";
import type { Clock } from "./clock.js";
import type { Log } from "./logging.js";

/** Whether the node has stopped serving because its broker is down. */
export interface BrokerOutageWatch {
  /** True from `closeAfterMs` into an outage until the broker is healthy again. */
  readonly serving: boolean;
  stop(): void;
}

export interface BrokerOutageDeps {
  readonly broker: Broker;
  readonly clock: Clock;
  readonly logger: Log;
  /** How long the broker may stay unhealthy before `onOutage`; Infinity never calls it. */
  readonly closeAfterMs: number;
  /** The node stops serving: refuse upgrades, close the clients. */
  readonly onOutage: (health: BrokerHealth) => void;
}

/**
 * Watches a broker's health (README, "Broker outage"). A node that cannot reach its broker
 * can neither deliver nor append: its clients would sit on a connection that brings them
 * nothing while other nodes could serve them. After `closeAfterMs` of uninterrupted
 * unhealth the node stops serving; the first healthy report starts serving again. A broker
 * without `onHealthChange` is never considered down.
 */
export function watchBrokerOutage(deps: BrokerOutageDeps): BrokerOutageWatch {
  const { broker, clock, logger, closeAfterMs } = deps;
  let serving = true;
  let timer: unknown;

  const disarm = () => {
    if (timer === undefined) return;
    clock.clearTimeout(timer);
    timer = undefined;
  };

  const onChange = (health: BrokerHealth) => {
    if (health.healthy) {
      disarm();
      if (!serving) logger.warn("broker healthy again: accepting connections");
      serving = true;
      return;
    }
    if (!serving || timer !== undefined || !Number.isFinite(closeAfterMs)) return;
    timer = clock.setTimeout(
      () => {
        timer = undefined;
        const now = broker.health();
        if (now.healthy) return;
        serving = false;
        logger.warn(
          { detail: now.detail, after_ms: closeAfterMs },
          "broker unhealthy too long: refusing connections and closing clients",
        );
        deps.onOutage(now);
      },
      Math.max(0, closeAfterMs),
    );
  };

  const unsubscribe = broker.onHealthChange?.(onChange) ?? (() => {});
  const initial = broker.health();
  if (!initial.healthy) onChange(initial);

  return {
    get serving() {
      return serving;
    },
    stop() {
      unsubscribe();
      disarm();
    },
  };
}
