import type { ClientMessage } from "@lifeline/protocol";
/** One message waiting for an open connection. */
export interface OutboxEntry {
  /** The message id (publish or request), used to remove it on abort or timeout. */
  readonly id: string;
  readonly kind: "publish" | "request";
  /** The message, encoded by the codec of the connection it goes out on. */
  readonly message: ClientMessage;
}

/**
 * Messages made while the connection is down, replayed oldest first when it reopens.
 * Bounded: at `max` entries a new message is refused (the caller rejects it with
 * `queue_full`), because dropping an old one would silently lose something the
 * application was already told is on its way.
 */
export interface Outbox {
  readonly size: number;
  readonly max: number;
  /** Appends; false when the outbox is full. */
  push(entry: OutboxEntry): boolean;
  /**
   * Puts entries back at the front, in their order, regardless of the bound: they were
   * accepted before (publishes in flight on a connection that dropped).
   */
  requeue(entries: readonly OutboxEntry[]): void;
  remove(id: string): boolean;
  /** Sends entries in order until `send` returns false; returns how many were sent. */
  flush(send: (entry: OutboxEntry) => boolean): number;
  clear(): OutboxEntry[];
}

export function createOutbox(max: number): Outbox {
  if (!(max >= 0)) throw new RangeError(`queue.max must be a number >= 0, got ${max}`);
  let entries: OutboxEntry[] = [];
  return {
    get size() {
      return entries.length;
    },
    max,
    push(entry) {
      if (entries.length >= max) return false;
      entries.push(entry);
      return true;
    },
    requeue(front) {
      if (front.length === 0) return;
      const ids = new Set(front.map((e) => e.id));
      entries = [...front, ...entries.filter((e) => !ids.has(e.id))];
    },
    remove(id) {
      const index = entries.findIndex((e) => e.id === id);
      if (index < 0) return false;
      entries.splice(index, 1);
      return true;
    },
    flush(send) {
      let sent = 0;
      while (sent < entries.length) {
        const entry = entries[sent] as OutboxEntry;
        if (!send(entry)) break;
        sent += 1;
      }
      entries = entries.slice(sent);
      return sent;
    },
    clear() {
      const all = entries;
      entries = [];
      return all;
    },
  };
}
