import type { BrokerPresence, PresenceEntry, PresenceState } from "@lifeline/protocol";
import type { Clock, TimerHandle } from "../clock.js";
import type { Connection } from "../connection.js";
import { prepareMessage } from "../fan-out.js";
import type { Log } from "../logging.js";
import { bump, type Counters } from "../stats.js";
import { PresenceHolds } from "./holds.js";
import { type PresenceDelta, PresenceMirror } from "./mirror.js";
import { toPresenceState, toWireMember } from "./wire.js";

/** Most members one `presence_diff` lists; a larger change is sent as several. */
export const MAX_DIFF_MEMBERS = 500;

export interface PresenceSettings {
  readonly enabled: (topic: string) => boolean;
  readonly graceMs: number;
  readonly diffIntervalMs: number;
  readonly maxMembers: number;
}

export interface PresenceDeps {
  readonly store: BrokerPresence;
  readonly settings: PresenceSettings;
  readonly clock: Clock;
  readonly logger: Log;
  readonly counters: Counters;
}

type Mirror = PresenceMirror<Connection>;

/**
 * A server's presence (PROTOCOL.md, "Presence"): its members go to the broker's store (held
 * once per client_id, released after the grace period), and its connections that subscribed
 * with `presence: true` get the topic's changes from every node as `presence_diff`s, coalesced
 * and sent once per `diffIntervalMs` whatever the number of joins and leaves.
 */
export class ServerPresence {
  private readonly holds: PresenceHolds;
  private readonly mirrors = new Map<string, Mirror>();
  private readonly changed = new Set<Mirror>();
  private flushTimer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly deps: PresenceDeps) {
    this.holds = new PresenceHolds({
      store: deps.store,
      clock: deps.clock,
      graceMs: deps.settings.graceMs,
      onStoreError: (error, topic) =>
        deps.logger.warn({ err: error, topic }, "presence could not be updated in the broker"),
    });
  }

  enabled(topic: string): boolean {
    return this.deps.settings.enabled(topic);
  }

  /**
   * Before a subscribe that asked for diffs: the topic's mirror, once it has the store's
   * snapshot. Pass it to `subscribed`, or to `abandon` when the subscribe goes no further.
   */
  async prepareWatch(topic: string): Promise<Mirror> {
    const mirror = this.mirrors.get(topic) ?? this.startMirror(topic);
    mirror.pending += 1;
    try {
      await mirror.ready;
    } catch (error) {
      this.abandon(mirror);
      throw error;
    }
    return mirror;
  }

  abandon(mirror: Mirror): void {
    mirror.pending -= 1;
    this.retireIfIdle(mirror);
  }

  /**
   * `connection` is subscribed to `topic` (its `subscribed` was sent): it is a member, and a
   * watcher when it asked for diffs (`mirror`), or no longer one when it subscribed again
   * without.
   */
  subscribed(connection: Connection, topic: string, user: string | undefined, mirror?: Mirror) {
    const entry: PresenceEntry =
      user === undefined
        ? { clientId: connection.clientId, joinedAt: this.deps.clock.now() }
        : { clientId: connection.clientId, user, joinedAt: this.deps.clock.now() };
    this.holds.add(connection, topic, entry);
    if (mirror) {
      mirror.pending -= 1;
      if (this.mirrors.get(topic) === mirror) mirror.watchers.add(connection);
      else this.retireIfIdle(mirror);
      return;
    }
    this.unwatch(connection, topic);
  }

  /** `connection` left `topic`: `asked` by an unsubscribe, else its connection closed. */
  unsubscribed(connection: Connection, topic: string, asked: boolean): void {
    this.holds.remove(connection, topic, connection.clientId, asked);
    this.unwatch(connection, topic);
  }

  /** The topic's members: from the mirror when this node watches it, else from the store. */
  async query(topic: string): Promise<PresenceState> {
    const { maxMembers } = this.deps.settings;
    const mirror = this.mirrors.get(topic);
    if (mirror?.watch) {
      // As of the last diff, so it and the diffs after it agree (PROTOCOL.md, "Presence").
      const members = mirror.published();
      return toPresenceState(topic, members, members.length, maxMembers);
    }
    const members = await this.deps.store.members(topic);
    return toPresenceState(topic, members, members.length, maxMembers);
  }

  /** Stops every watch and waiting leave (server shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.flushTimer !== undefined) this.deps.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.holds.clear();
    const mirrors = [...this.mirrors.values()];
    this.mirrors.clear();
    await Promise.allSettled(mirrors.map((mirror) => mirror.watch?.stop()));
  }

  private startMirror(topic: string): Mirror {
    const mirror: Mirror = new PresenceMirror(topic);
    this.mirrors.set(topic, mirror);
    mirror.ready = this.deps.store
      .watch(topic, (change) => {
        mirror.apply(change);
        this.noteChange(mirror);
      })
      .then(
        (watch) => {
          if (this.mirrors.get(topic) !== mirror) {
            watch.stop().catch(() => {});
            return;
          }
          mirror.start(watch);
          this.noteChange(mirror);
        },
        (error: unknown) => {
          if (this.mirrors.get(topic) === mirror) this.mirrors.delete(topic);
          throw error;
        },
      );
    // Awaited by every prepareWatch; this keeps a failure nobody awaits from going unhandled.
    mirror.ready.catch(() => {});
    return mirror;
  }

  private unwatch(connection: Connection, topic: string): void {
    const mirror = this.mirrors.get(topic);
    if (mirror?.watchers.delete(connection)) this.retireIfIdle(mirror);
  }

  private retireIfIdle(mirror: Mirror): void {
    if (!mirror.idle) return;
    if (this.mirrors.get(mirror.topic) === mirror) this.mirrors.delete(mirror.topic);
    this.changed.delete(mirror);
    mirror.watch?.stop().catch(() => {});
  }

  private noteChange(mirror: Mirror): void {
    if (!mirror.dirty || this.closed) return;
    this.changed.add(mirror);
    this.flushTimer ??= this.deps.clock.setTimeout(
      () => this.flush(),
      this.deps.settings.diffIntervalMs,
    );
  }

  /** One tick: each changed topic's net change, to each of its watchers. */
  private flush(): void {
    this.flushTimer = undefined;
    const mirrors = [...this.changed];
    this.changed.clear();
    for (const mirror of mirrors) {
      const delta = mirror.takeDelta();
      if (mirror.watchers.size === 0) continue;
      for (const text of encodeDiffs(mirror.topic, delta)) this.broadcast(mirror, text);
    }
  }

  private broadcast(mirror: Mirror, text: string): void {
    const prepared = prepareMessage(text);
    let recipients = 0;
    for (const connection of mirror.watchers) {
      try {
        if (connection.deliver(prepared)) recipients += 1;
      } catch (error) {
        this.deps.logger.warn({ err: error, connection_id: connection.id }, "presence diff failed");
      }
    }
    bump(this.deps.counters.messagesOut, "presence_diff", recipients);
    this.deps.counters.bytesOut += recipients * prepared.bytes;
  }
}

/** `presence_diff` texts of one delta, at most MAX_DIFF_MEMBERS members each. */
export function encodeDiffs(topic: string, delta: PresenceDelta): string[] {
  const texts: string[] = [];
  const { joins, leaves } = delta;
  let j = 0;
  let l = 0;
  while (j < joins.length || l < leaves.length) {
    const leaveSlice = leaves.slice(l, l + MAX_DIFF_MEMBERS);
    l += leaveSlice.length;
    const joinSlice = joins.slice(j, j + MAX_DIFF_MEMBERS - leaveSlice.length);
    j += joinSlice.length;
    texts.push(
      JSON.stringify({
        type: "presence_diff",
        topic,
        joins: joinSlice.map(toWireMember),
        leaves: leaveSlice.map(toWireMember),
      }),
    );
  }
  return texts;
}
