import type { BrokerPresence, PresenceEntry } from "@lifeline/protocol";
import type { Clock, TimerHandle } from "../clock.js";

/** What one node holds of one member: its connections, and a leave waiting out the grace. */
interface Hold {
  readonly entry: PresenceEntry;
  readonly connections: Set<object>;
  leaveTimer: TimerHandle | undefined;
}

export interface HoldsOptions {
  readonly store: BrokerPresence;
  readonly clock: Clock;
  /** How long a member whose last connection dropped is kept, in milliseconds. */
  readonly graceMs: number;
  /** A store call failed (its broker unreachable): logged; the store resynchronises. */
  readonly onStoreError: (error: unknown, topic: string) => void;
}

/**
 * This node's members (PROTOCOL.md, "Presence"): a client_id is held on a topic while any of
 * its connections here is subscribed, whatever their number, so the store sees one hold per
 * node. When the last one goes, the release waits `graceMs` unless it was asked for (an
 * `unsubscribe`): a client that reconnects within it never left, and nobody sees it leave
 * and join again.
 */
export class PresenceHolds {
  private readonly topics = new Map<string, Map<string, Hold>>();

  constructor(private readonly options: HoldsOptions) {}

  /** `connection` of `entry.clientId` is subscribed to `topic`. */
  add(connection: object, topic: string, entry: PresenceEntry): void {
    let members = this.topics.get(topic);
    if (!members) {
      members = new Map();
      this.topics.set(topic, members);
    }
    const existing = members.get(entry.clientId);
    if (existing) {
      if (existing.leaveTimer !== undefined) {
        this.options.clock.clearTimeout(existing.leaveTimer);
        existing.leaveTimer = undefined;
      }
      existing.connections.add(connection);
      return;
    }
    members.set(entry.clientId, {
      entry,
      connections: new Set([connection]),
      leaveTimer: undefined,
    });
    this.options.store.hold(topic, entry).catch((error: unknown) => {
      this.options.onStoreError(error, topic);
    });
  }

  /**
   * `connection` is no longer subscribed to `topic`. With `asked` (an unsubscribe) the
   * member leaves at once when it was its last connection; otherwise after the grace period.
   */
  remove(connection: object, topic: string, clientId: string, asked: boolean): void {
    const hold = this.topics.get(topic)?.get(clientId);
    if (!hold?.connections.delete(connection) || hold.connections.size > 0) return;
    if (hold.leaveTimer !== undefined) return;
    if (asked || this.options.graceMs <= 0) {
      this.drop(topic, clientId, hold);
      return;
    }
    hold.leaveTimer = this.options.clock.setTimeout(() => {
      hold.leaveTimer = undefined;
      this.drop(topic, clientId, hold);
    }, this.options.graceMs);
  }

  /** Cancels every waiting leave (server shutdown): the store's node bound takes over. */
  clear(): void {
    for (const members of this.topics.values()) {
      for (const hold of members.values()) {
        if (hold.leaveTimer !== undefined) this.options.clock.clearTimeout(hold.leaveTimer);
      }
    }
    this.topics.clear();
  }

  private drop(topic: string, clientId: string, hold: Hold): void {
    const members = this.topics.get(topic);
    if (members?.get(clientId) !== hold) return;
    members.delete(clientId);
    if (members.size === 0) this.topics.delete(topic);
    this.options.store.release(topic, clientId).catch((error: unknown) => {
      this.options.onStoreError(error, topic);
    });
  }
}
