import type { LifelineClient, LifelineError, PresenceMember } from "@lifeline/client";
import { createHold, type Hold } from "./hold.js";

/** What the provider holds of one topic's presence; replaced, never mutated, on a change. */
export interface PresenceSnapshot {
  /** Every member now, in the order they became known; empty until the first answer. */
  readonly members: readonly PresenceMember[];
  /** True once the server answered with the members (an empty list included). */
  readonly known: boolean;
  /** Why the server refused presence (`forbidden`, ...); the client stopped asking. */
  readonly error: LifelineError | undefined;
}

/** The presence of a topic nobody watches, and of every topic during server rendering. */
export const NO_PRESENCE: PresenceSnapshot = Object.freeze({
  members: Object.freeze([]) as readonly PresenceMember[],
  known: false,
  error: undefined,
});

/**
 * One presence subscription per topic for every `usePresence` of a provider (PROTOCOL.md,
 * "Presence"), started and stopped through a {@link Hold} so strict mode's double mount
 * asks the server once. The client keeps the member set across reconnects; this only
 * mirrors it for React.
 */
export interface PresenceFeeds {
  snapshot(topic: string): PresenceSnapshot;
  /** Watches the topic's members (subscribing on the first watcher); returns its removal. */
  watch(topic: string, onChange: () => void): () => void;
}

interface Watched {
  readonly watchers: Set<() => void>;
  snapshot: PresenceSnapshot;
  readonly hold: Hold;
}

export function createPresenceFeeds(client: LifelineClient): PresenceFeeds {
  const watched = new Map<string, Watched>();

  const update = (entry: Watched, next: PresenceSnapshot) => {
    entry.snapshot = next;
    for (const watcher of [...entry.watchers]) watcher();
  };

  const open = (topic: string): Watched => {
    let unsubscribe: (() => void) | undefined;
    const entry: Watched = {
      watchers: new Set(),
      snapshot: NO_PRESENCE,
      hold: createHold(
        () => {
          // The messages are the subscription hooks' business: this one wants the members.
          unsubscribe = client.subscribe(topic, () => {}, {
            presence: true,
            onPresence: (event) =>
              update(entry, { members: event.members, known: true, error: undefined }),
            onError: (error) => update(entry, { ...entry.snapshot, error }),
          });
        },
        () => {
          unsubscribe?.();
          if (watched.get(topic) === entry) watched.delete(topic);
        },
      ),
    };
    watched.set(topic, entry);
    return entry;
  };

  return {
    snapshot: (topic) => watched.get(topic)?.snapshot ?? NO_PRESENCE,
    watch(topic, onChange) {
      const entry = watched.get(topic) ?? open(topic);
      entry.watchers.add(onChange);
      const release = entry.hold.take();
      return () => {
        entry.watchers.delete(onChange);
        release();
      };
    },
  };
}
