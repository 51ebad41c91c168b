import type { CodecName } from "../transport/codec.js";
import type { TransportName } from "../transport/transport.js";
import type { Clock } from "../util/clock.js";
import { type LifecycleEvent, type TransitionCause, transition } from "./machine.js";
import type { ClientState, StateChange, WritableConnectionStore } from "./store.js";

/**
 * Applies lifecycle events to the store: the one place a state changes. Leaving a state
 * stops the timers registered for it (a pending retry), so no stale timer fires into the
 * next state.
 */
export interface StateDriver {
  /** Feeds `event`; false when it does not apply in the current state (nothing changes). */
  apply(event: LifecycleEvent, cause: TransitionCause, extra?: TransitionExtra): boolean;
  /** Changes the snapshot without a transition (retry count reset, retries paused). */
  patch(patch: StatePatch): void;
  /** Registers a timer's stop function, run when the current state is left. */
  own(stop: () => void): void;
  /** Stops the current state's timers now (retries paused while offline). */
  stopTimers(): void;
}

/** What a transition may set besides the state: the retry time, the wire, the codec. */
export interface TransitionExtra {
  readonly nextRetryAt?: number;
  readonly transport?: TransportName;
  readonly codec?: CodecName;
}

/** What `patch` may change. */
export interface StatePatch {
  readonly attempt?: number;
  readonly clearRetryAt?: boolean;
  readonly transport?: TransportName;
  readonly codec?: CodecName;
}

export function createStateDriver(options: {
  readonly store: WritableConnectionStore;
  readonly clock: Clock;
  /** The retry count to show in snapshots. */
  readonly attempt: () => number;
  readonly onChange: (change: StateChange) => void;
}): StateDriver {
  const { store, clock } = options;
  let timers: Array<() => void> = [];

  const stopTimers = () => {
    const running = timers;
    timers = [];
    for (const stop of running) stop();
  };

  return {
    apply(event, cause, extra = {}) {
      const prev = store.getSnapshot().state;
      const next = transition(prev, event);
      if (!next) return false;
      if (next !== prev) stopTimers();
      const previous = store.getSnapshot();
      const transport = extra.transport ?? previous.transport;
      const codec = extra.codec ?? previous.codec;
      const snapshot: ClientState = {
        state: next,
        status: next,
        attempt: options.attempt(),
        cause,
        since: clock.now(),
        ...(extra.nextRetryAt === undefined ? {} : { nextRetryAt: extra.nextRetryAt }),
        ...(transport === undefined ? {} : { transport }),
        ...(codec === undefined ? {} : { codec }),
      };
      store.set(snapshot);
      options.onChange({ prev, next, cause, snapshot });
      return true;
    },
    patch(patch) {
      const { nextRetryAt, ...rest } = store.getSnapshot();
      store.set({
        ...rest,
        attempt: patch.attempt ?? rest.attempt,
        ...(patch.transport === undefined ? {} : { transport: patch.transport }),
        ...(patch.codec === undefined ? {} : { codec: patch.codec }),
        ...(patch.clearRetryAt || nextRetryAt === undefined ? {} : { nextRetryAt }),
      });
    },
    own(stop) {
      timers.push(stop);
    },
    stopTimers,
  };
}
