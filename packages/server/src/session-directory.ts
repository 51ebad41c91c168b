import type { InboxAddress, SessionDirectory, SessionRecord, SessionTarget } from "./broker.js";
import type { Clock } from "./clock.js";

interface Lingering {
  readonly user: string;
  readonly clientId: string;
  readonly closedAt: number;
}

/**
 * The session directory of a server on its own (the memory broker has none): this node's
 * connections, and the clients that closed within `lingerMs`, which still receive direct
 * messages in their inbox so a message sent while they reconnect is not lost.
 */
export function createLocalSessionDirectory(options: {
  readonly clock: Clock;
  readonly lingerMs: number;
}): SessionDirectory {
  const { clock, lingerMs } = options;
  // A live session is found by its user's map: no third map keyed by connection id, which
  // would cost an entry per idle connection.
  const liveByUser = new Map<string, Map<string, SessionRecord>>();
  const liveByClient = new Map<string, SessionRecord>();
  const lingeringByClient = new Map<string, Lingering>();
  const lingeringByUser = new Map<string, Map<string, Lingering>>();
  // In close order, so expired entries leave from the front: bounded by the closes of one
  // linger period.
  const closes: Lingering[] = [];

  function prune(): void {
    const cutoff = clock.now() - lingerMs;
    while (closes.length > 0 && (closes[0] as Lingering).closedAt <= cutoff) {
      const entry = closes.shift() as Lingering;
      if (lingeringByClient.get(entry.clientId) === entry) lingeringByClient.delete(entry.clientId);
      const byUser = lingeringByUser.get(entry.user);
      if (byUser?.get(entry.clientId) === entry) {
        byUser.delete(entry.clientId);
        if (byUser.size === 0) lingeringByUser.delete(entry.user);
      }
    }
  }

  return {
    async add(session) {
      let byUser = liveByUser.get(session.user);
      if (byUser === undefined) {
        byUser = new Map();
        liveByUser.set(session.user, byUser);
      }
      byUser.set(session.connectionId, session);
      liveByClient.set(session.clientId, session);
    },
    async remove(session) {
      const byUser = liveByUser.get(session.user);
      if (byUser === undefined || !byUser.delete(session.connectionId)) return;
      if (byUser.size === 0) liveByUser.delete(session.user);
      // A takeover adds the new connection before the old one closes.
      if (liveByClient.get(session.clientId) === session) liveByClient.delete(session.clientId);
      prune();
      if (lingerMs <= 0) return;
      const entry = { user: session.user, clientId: session.clientId, closedAt: clock.now() };
      closes.push(entry);
      lingeringByClient.set(session.clientId, entry);
      let lingering = lingeringByUser.get(session.user);
      if (lingering === undefined) {
        lingering = new Map();
        lingeringByUser.set(session.user, lingering);
      }
      lingering.set(session.clientId, entry);
    },
    async live(user) {
      return [...(liveByUser.get(user)?.values() ?? [])];
    },
    async recipients(target: SessionTarget): Promise<InboxAddress[]> {
      prune();
      if ("clientId" in target) {
        const holder = liveByClient.get(target.clientId) ?? lingeringByClient.get(target.clientId);
        return holder === undefined ? [] : [{ user: holder.user, clientId: target.clientId }];
      }
      const clients = new Set<string>();
      for (const session of liveByUser.get(target.user)?.values() ?? []) {
        clients.add(session.clientId);
      }
      for (const clientId of lingeringByUser.get(target.user)?.keys() ?? []) clients.add(clientId);
      return [...clients].map((clientId) => ({ user: target.user, clientId }));
    },
  };
}
