import { applyMergePatch, type DeltaMessage, readDelta } from "@lifeline/protocol";

/** One key's state after a message of a delta topic. */
export interface DeltaUpdate<T> {
  /** The key the message was about. */
  readonly key: string;
  /** The key's whole state after the message: a new object, unchanged parts shared. */
  readonly state: T;
}

/**
 * The current state per key of a delta topic (PROTOCOL.md, "Deltas"), rebuilt from its
 * messages: a `{key, full}` replaces the key's state, a `{key, changes}` is merged into it
 * as a JSON Merge Patch (RFC 7386). States are never mutated: a change makes new objects
 * along the changed paths only, so a view can compare by reference.
 */
export interface DeltaStates<T> {
  /**
   * Applies one message's data. Returns the key's state after it, or undefined for
   * changes to a key with no state yet (joined mid-stream, or after `reset`): the key's
   * next full state brings it back (a conflated topic or `rewind` sends full states).
   * Throws a `TypeError` for data that is not a delta message.
   */
  apply(data: unknown): DeltaUpdate<T> | undefined;
  /** The key's current state, or undefined while it has no full state. */
  get(key: string): T | undefined;
  /** Every key with a state, in the order they first got one. */
  entries(): IterableIterator<[string, T]>;
  /**
   * Forgets every state: call it on a `gap` of the topic, since changes were missed and
   * merging later ones would build a wrong state.
   */
  reset(): void;
}

/**
 * Keeps the state per key of a delta topic, for subscribers of topics a server publishes
 * with `publishDelta`:
 *
 * ```ts
 * const telescopes = createDeltaStates<TelescopeStatus>();
 * client.subscribe("telescope/status", (data) => {
 *   const update = telescopes.apply(data);
 *   if (update) render(update.key, update.state);
 * }, { rewind: 100, onGap: () => telescopes.reset() });
 * ```
 */
export function createDeltaStates<T = unknown>(): DeltaStates<T> {
  const states = new Map<string, T>();
  return {
    apply(data) {
      const message: DeltaMessage | undefined = readDelta(data);
      if (message === undefined) {
        throw new TypeError(
          `a delta message is {key, full} or {key, changes} with a string key, got ${describe(data)}`,
        );
      }
      const { key } = message;
      let state: T;
      if ("full" in message) {
        state = message.full as T;
      } else {
        if (!states.has(key)) return undefined;
        state = applyMergePatch(states.get(key), message.changes) as T;
      }
      states.set(key, state);
      return { key, state };
    },
    get: (key) => states.get(key),
    entries: () => states.entries(),
    reset() {
      states.clear();
    },
  };
}

function describe(data: unknown): string {
  if (data === null || typeof data !== "object") return data === null ? "null" : typeof data;
  return `an object with ${Object.keys(data).slice(0, 5).join(", ") || "no properties"}`;
}
