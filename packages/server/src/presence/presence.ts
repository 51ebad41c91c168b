import type { BrokerPresence, PresenceEntry } from "@lifeline/protocol";
import type { Clock, TimerHandle } from "../clock.js";
import type { Connection } from "../connection.js";
import type { Log } from "../logging.js";
import { bump, type Counters } from "../stats.js";
import { type PreparedMessage, prepareMessage } from "../transport/index.js";
import { PresenceHolds } from "./holds.js";
import { type PresenceDelta, PresenceMirror } from "./mirror.js";
import { toPresenceState, toWireMember } from "./wire.js";

/** Most members one `presence_diff` lists; a larger change is sent as several. */
export const MAX_DIFF_MEMBERS = 500;
/** Watchers written to before yielding to the event loop (see `flush`). */
const WATCHERS_PER_TURN = 250;

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
  /** A tick's diffs are still being written. */
  private delivering = false;
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

  /**
   * The topic's members as the JSON of a `presence` answer's result: from the mirror when
   * this node watches the topic (serialised once per diff, however many ask: after a
   * reconnect storm every watcher asks at once), else from the store.
   */
  async query(topic: string): Promise<string> {
    const { maxMembers } = this.deps.settings;
    const mirror = this.mirrors.get(topic);
    if (mirror?.watch) {
      // As of the last diff, so it and the diffs after it agree (PROTOCOL.md, "Presence").
      if (mirror.answer === undefined) {
        const members = mirror.published();
        mirror.answer = JSON.stringify(toPresenceState(topic, members, members.length, maxMembers));
      }
      return mirror.answer;
    }
    const members = await this.deps.store.members(topic);
    return JSON.stringify(toPresenceState(topic, members, members.length, maxMembers));
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
    if (!this.delivering) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    this.flushTimer ??= this.deps.clock.setTimeout(
      () => this.flush(),
      this.deps.settings.diffIntervalMs,
    );
  }

  /**
   * One tick: each changed topic's net change, to each of its watchers. Delivered
   * `WATCHERS_PER_TURN` connections at a time, yielding to the event loop in between, so a
   * topic with thousands of watchers does not stall the server while its diff is written;
   * the next tick waits until this one is delivered, so every watcher gets them in order.
   */
  private flush(): void {
    this.flushTimer = undefined;
    const batches: DiffBatch[] = [];
    for (const mirror of this.changed) {
      const delta = mirror.takeDelta();
      if (mirror.watchers.size === 0) continue;
      const messages = encodeDiffs(mirror.topic, delta).map(prepareMessage);
      if (messages.length > 0) batches.push({ mirror, messages, watchers: [...mirror.watchers] });
    }
    this.changed.clear();
    this.delivering = true;
    this.deliver(batches, 0, 0);
  }

  private deliver(batches: DiffBatch[], batchIndex: number, from: number): void {
    let budget = WATCHERS_PER_TURN;
    let b = batchIndex;
    let i = from;
    while (b < batches.length && budget > 0 && !this.closed) {
      const batch = batches[b] as DiffBatch;
      const end = Math.min(batch.watchers.length, i + budget);
      this.broadcast(batch, i, end);
      budget -= end - i;
      i = end;
      if (i >= batch.watchers.length) {
        b += 1;
        i = 0;
      }
    }
    if (b < batches.length && !this.closed) {
      setImmediate(() => this.deliver(batches, b, i));
      return;
    }
    this.delivering = false;
    if (this.changed.size > 0 && !this.closed) this.scheduleFlush();
  }

  private broadcast(batch: DiffBatch, from: number, to: number): void {
    const { mirror, messages, watchers } = batch;
    let deliveries = 0;
    let bytes = 0;
    for (let index = from; index < to; index += 1) {
      const connection = watchers[index] as Connection;
      // Gone or unsubscribed since the tick began: nothing more for it.
      if (!mirror.watchers.has(connection)) continue;
      for (const message of messages) {
        try {
          const sent = connection.deliver(message);
          if (sent < 0) break;
          deliveries += 1;
          bytes += sent;
        } catch (error) {
          this.deps.logger.warn(
            { err: error, connection_id: connection.id },
            "presence diff failed",
          );
          break;
        }
      }
    }
    bump(this.deps.counters.messagesOut, "presence_diff", deliveries);
    this.deps.counters.bytesOut += bytes;
  }
}

/** One topic's diffs of a tick and the watchers they go to. */
interface DiffBatch {
  readonly mirror: Mirror;
  readonly messages: PreparedMessage[];
  readonly watchers: Connection[];
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
