import type {
  BrokerPresence,
  PresenceEntry,
  PresenceListener,
  PresenceWatch,
} from "@lifeline/protocol";

/**
 * Presence of one process (PROTOCOL.md, "Presence"): the memory broker's, and the server's
 * own when its broker keeps none. A single node holds each member at most once, so a hold
 * is the member and a release its leave. Listeners are called synchronously, in order.
 */
export function createMemoryPresence(): BrokerPresence {
  const topics = new Map<string, Map<string, PresenceEntry>>();
  const listeners = new Map<string, Set<PresenceListener>>();

  function notify(topic: string, joins: PresenceEntry[], leaves: PresenceEntry[]): void {
    const set = listeners.get(topic);
    if (!set) return;
    const change = { topic, joins, leaves };
    for (const listener of [...set]) listener(change);
  }

  return {
    async hold(topic, entry) {
      let members = topics.get(topic);
      if (!members) {
        members = new Map();
        topics.set(topic, members);
      }
      if (members.has(entry.clientId)) return;
      const member = copy(entry);
      members.set(entry.clientId, member);
      notify(topic, [member], []);
    },
    async release(topic, clientId) {
      const members = topics.get(topic);
      const member = members?.get(clientId);
      if (!members || !member) return;
      members.delete(clientId);
      if (members.size === 0) topics.delete(topic);
      notify(topic, [], [member]);
    },
    async members(topic) {
      return [...(topics.get(topic)?.values() ?? [])];
    },
    async watch(topic, listener): Promise<PresenceWatch> {
      let set = listeners.get(topic);
      if (!set) {
        set = new Set();
        listeners.set(topic, set);
      }
      // A listener object of its own, so watching twice with one function stops once each.
      const own: PresenceListener = (change) => listener(change);
      set.add(own);
      const members = [...(topics.get(topic)?.values() ?? [])];
      return {
        members,
        async stop() {
          const current = listeners.get(topic);
          if (!current?.delete(own)) return;
          if (current.size === 0) listeners.delete(topic);
        },
      };
    },
  };
}

function copy(entry: PresenceEntry): PresenceEntry {
  return entry.user === undefined
    ? { clientId: entry.clientId, joinedAt: entry.joinedAt }
    : { clientId: entry.clientId, user: entry.user, joinedAt: entry.joinedAt };
}
