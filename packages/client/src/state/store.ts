import type { CodecName } from "../transport/codec.js";
import type { TransportName } from "../transport/transport.js";
import type { ConnectionStatus, TransitionCause } from "./machine.js";

/**
 * The connection's state as one immutable value. A new object is made only when something
 * changes, so `getSnapshot()` returns the same reference between changes, as React's
 * `useSyncExternalStore` requires.
 */
export interface ClientState {
  /**
   * The state's name: `idle`, `connecting`, `open`, `degraded`, `reconnecting`, `failed` or
   * `closed`.
   */
  readonly state: ConnectionStatus;
  /** The same value as `state` (both spellings are in use in the docs). */
  readonly status: ConnectionStatus;
  /** Retries made since the connection was last healthy (0 while open and stable). */
  readonly attempt: number;
  /** Wall-clock time (ms since epoch) of the next scheduled attempt, while `reconnecting`. */
  readonly nextRetryAt?: number;
  /** What caused the latest transition. */
  readonly cause?: TransitionCause;
  /** Wall-clock time of the latest transition. */
  readonly since: number;
  /** The wire of the latest attempt: `websocket`, or `sse` (the HTTP fallback). */
  readonly transport?: TransportName;
  /** The encoding of the latest connection, as the server agreed: `json` or `msgpack`. */
  readonly codec?: CodecName;
}

/** Alias kept for readers of the shared API notes. */
export type ConnectionSnapshot = ClientState;

/** One transition, as emitted by the `state` event. */
export interface StateChange {
  /** The state left. */
  readonly prev: ConnectionStatus;
  /** The state entered. */
  readonly next: ConnectionStatus;
  /** Why: the close code and reason, the error class, or the application's call. */
  readonly cause: TransitionCause;
  /** The whole state after the transition. */
  readonly snapshot: ClientState;
}

/** A `subscribe(listener)` + `getSnapshot()` pair: binds to any framework's external-store hook. */
export interface ConnectionStore {
  /** Calls `listener` after every change; returns the function that stops it. */
  subscribe(listener: () => void): () => void;
  /** The current state: the same object until the next transition. */
  getSnapshot(): ClientState;
}

export interface WritableConnectionStore extends ConnectionStore {
  set(next: ClientState): void;
}

export function createConnectionStore(initial: ClientState): WritableConnectionStore {
  let snapshot = initial;
  const listeners = new Set<() => void>();
  return {
    subscribe(listener) {
      // A wrapper per call, so subscribing the same function twice needs two unsubscribes.
      const entry = () => listener();
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    getSnapshot: () => snapshot,
    set(next) {
      if (next === snapshot) return;
      snapshot = next;
      for (const listener of [...listeners]) listener();
    },
  };
}
