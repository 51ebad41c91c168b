import { applyMergePatch, type DeltaMessage } from "@lifeline/protocol";
import type { Clock } from "./clock.js";
import { LifelineServerError, ServerErrorCode } from "./errors.js";
import type { DeltaOptions } from "./options.js";

/** One `publishDelta` turned into what is appended. */
export interface DeltaStep {
  /** The message data: the key's full state, or only its changes. */
  readonly data: DeltaMessage;
  /** The key's state after this step, `{key, full}`: what a conflated topic keeps for it. */
  readonly latest: DeltaMessage;
}

interface KeyState {
  state: unknown;
  /** Deltas sent since the last full state. */
  deltas: number;
  /** When the last full state was sent (clock milliseconds). */
  fullAt: number;
}

/**
 * The state per (topic, key) behind `publishDelta` (PROTOCOL.md, "Deltas"): merges each
 * change set into the key's state and decides whether this message carries the changes
 * or the whole state. A key's first message is always a full state, as is one in
 * `fullEvery` and the first after `fullIntervalMs`, so a subscriber holding no state for
 * the key rebuilds it within a bounded number of messages and time.
 */
export interface DeltaTracker {
  /**
   * Merges `changes` into the key's state and says what to send. Throws a
   * `LifelineServerError` (`LIFELINE_DELTA_KEY_LIMIT`) for a new key past `maxKeys`.
   */
  next(topic: string, key: string, changes: Readonly<Record<string, unknown>>): DeltaStep;
  /** Takes back the last `next` of the key (its changes were refused before sending). */
  undo(topic: string, key: string, step: DeltaStep): void;
  /** The key's next message is a full state (an append failed: nobody got these changes). */
  resend(topic: string, key: string): void;
  /** Drops the key's state (the key is gone); a later publish starts it anew. */
  forget(topic: string, key: string): void;
}

export function createDeltaTracker(options: Required<DeltaOptions>, clock: Clock): DeltaTracker {
  const keys = new Map<string, KeyState>();
  const previous = new WeakMap<DeltaStep, KeyState | undefined>();
  const id = (topic: string, key: string) => `${topic}\u0000${key}`;

  return {
    next(topic, key, changes) {
      const name = id(topic, key);
      const known = keys.get(name);
      if (known === undefined && keys.size >= options.maxKeys) {
        throw new LifelineServerError(
          ServerErrorCode.DeltaKeyLimit,
          `publishDelta keeps the state of at most ${options.maxKeys} keys (deltas.maxKeys); forgetDelta() the keys that are gone before adding "${key}" to "${topic}"`,
        );
      }
      const now = clock.now();
      const state = applyMergePatch(known?.state, changes);
      const full =
        known === undefined ||
        known.deltas + 1 >= options.fullEvery ||
        now - known.fullAt >= options.fullIntervalMs;
      keys.set(name, {
        state,
        deltas: full ? 0 : (known?.deltas ?? 0) + 1,
        fullAt: full ? now : (known?.fullAt ?? now),
      });
      const latest = { key, full: state };
      const step: DeltaStep = { data: full ? latest : { key, changes }, latest };
      previous.set(step, known);
      return step;
    },
    undo(topic, key, step) {
      const before = previous.get(step);
      if (before === undefined) keys.delete(id(topic, key));
      else keys.set(id(topic, key), before);
    },
    resend(topic, key) {
      const known = keys.get(id(topic, key));
      // Counted as due: the next message of the key is its full state.
      if (known) known.deltas = Number.POSITIVE_INFINITY;
    },
    forget(topic, key) {
      keys.delete(id(topic, key));
    },
  };
}
