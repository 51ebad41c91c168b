import type { PresenceChange, PresenceEntry, PresenceWatch } from "@lifeline/protocol";

/** Net joins and leaves of one topic since the previous diff. */
export interface PresenceDelta {
  readonly joins: PresenceEntry[];
  readonly leaves: PresenceEntry[];
}

/**
 * This node's copy of one topic's members while some of its connections watch them: kept
 * from the store's snapshot plus its changes, so a `presence` query is answered from
 * memory consistently with the diffs sent after it, and changes are coalesced per tick
 * (a member that left and came back within one tick is no change at all).
 */
export class PresenceMirror<Watcher> {
  readonly members = new Map<string, PresenceEntry>();
  readonly watchers = new Set<Watcher>();
  /** Subscribes waiting for the mirror to be ready before they become watchers. */
  pending = 0;
  /** Each changed member's state before the first change since the last diff. */
  private readonly before = new Map<string, PresenceEntry | undefined>();
  /** The JSON of the last `presence` answer, until the published members change. */
  answer: string | undefined;
  /** Changes that arrived before the snapshot, applied after it. */
  private early: PresenceChange[] | undefined = [];
  watch: PresenceWatch | undefined;
  /** Settles once the snapshot is in. */
  ready: Promise<void> = Promise.resolve();

  constructor(readonly topic: string) {}

  get idle(): boolean {
    return this.pending === 0 && this.watchers.size === 0;
  }

  get dirty(): boolean {
    return this.before.size > 0;
  }

  /** The store's snapshot, then any changes that arrived while it was taken. */
  start(watch: PresenceWatch): void {
    this.watch = watch;
    for (const entry of watch.members) this.members.set(entry.clientId, entry);
    this.answer = undefined;
    const early = this.early ?? [];
    this.early = undefined;
    for (const change of early) this.apply(change);
  }

  apply(change: PresenceChange): void {
    if (this.early) {
      this.early.push(change);
      return;
    }
    for (const entry of change.leaves) this.set(entry.clientId, undefined);
    for (const entry of change.joins) this.set(entry.clientId, entry);
  }

  /**
   * The members as of the last diff sent: a watcher that reads them and then applies the
   * diffs that follow has the members exactly, whatever changed within the current tick
   * (the current members would not do: a member that left and came back within the tick
   * would never be sent again).
   */
  published(): PresenceEntry[] {
    const members: PresenceEntry[] = [];
    for (const [clientId, entry] of this.members) {
      if (!this.before.has(clientId)) members.push(entry);
    }
    for (const was of this.before.values()) if (was) members.push(was);
    return members;
  }

  /** The net change since the last call; empty lists when there is none. */
  takeDelta(): PresenceDelta {
    const joins: PresenceEntry[] = [];
    const leaves: PresenceEntry[] = [];
    for (const [clientId, was] of this.before) {
      const now = this.members.get(clientId);
      if (now && !was) joins.push(now);
      else if (!now && was) leaves.push(was);
    }
    this.before.clear();
    if (joins.length + leaves.length > 0) this.answer = undefined;
    return { joins, leaves };
  }

  private set(clientId: string, entry: PresenceEntry | undefined): void {
    if (!this.before.has(clientId)) this.before.set(clientId, this.members.get(clientId));
    if (entry) this.members.set(clientId, entry);
    else this.members.delete(clientId);
  }
}
