import type { Broker, LatestQuery, LatestRead, LogEntry } from "./broker.js";
import type { Clock } from "./clock.js";
import type { Connection } from "./connection.js";
import { whenDrained } from "./drain.js";
import type { SubscribeOutcome } from "./topics.js";
import { type PreparedMessage, prepareEntry } from "./transport/index.js";

/** How conflated topics are served (PROTOCOL.md, "Conflation"). */
export interface ConflationSettings {
  /** True for topics the contract declares `conflate`. */
  readonly isConflated: (topic: string) => boolean;
  /**
   * Bytes queued for a connection above which its conflated subscriptions stop taking
   * every message and catch up from the latest-per-key table once it has drained to half.
   */
  readonly highWaterMark: number;
  readonly clock: Clock;
}

/** What a conflated subscription keeps: its position, and the state of falling behind. */
export interface ConflatedPosition {
  lastOffset: number;
  epoch: string | undefined;
  /** Live entries held while the table is read; delivered after it. */
  pending: LogEntry[] | undefined;
  /** Set while it is behind: cancels the wait for its socket to drain. */
  stopWaiting: (() => void) | undefined;
}

/** One conflated subscription, as the topic that owns it hands it over. */
export interface ConflatedTarget {
  readonly topic: string;
  readonly connection: Connection;
  readonly position: ConflatedPosition;
  /** False once the subscription was removed (unsubscribed, closed). */
  isCurrent(): boolean;
  /** Delivers the live entries held during a catch-up, each once. */
  flushPending(): void;
}

export interface ConflationHooks {
  /** A conflated subscription fell behind and stopped taking every message. */
  readonly onFellBehind: (connection: Connection, topic: string) => void;
  /** A conflated subscription could not catch up (the broker failed): it is closed. */
  readonly onCatchUpError: (connection: Connection, topic: string, error: unknown) => void;
}

/**
 * Delivery from the broker's latest-per-key table (PROTOCOL.md, "Conflation"): the replay
 * of a rewind or of a resume past the retained history, and the catch-up of a subscription
 * that fell behind. A subscription behind costs its flag and one drain watch, however many
 * messages it skips; the table is shared by every subscriber.
 */
export class ConflatedDelivery {
  /** Conflated frames of table entries, shared by the subscribers catching up at once. */
  private readonly frames = new WeakMap<LogEntry, PreparedMessage>();

  constructor(
    private readonly broker: Broker,
    private readonly settings: ConflationSettings,
    private readonly hooks: ConflationHooks,
  ) {}

  /** True when the topic is conflated and the broker can serve it. */
  serves(topic: string): boolean {
    return this.broker.latest !== undefined && this.settings.isConflated(topic);
  }

  isBehind(connection: Connection): boolean {
    return connection.bufferedBytes > this.settings.highWaterMark;
  }

  /**
   * Sends the latest entry of each key the query selects, marked conflated, in offset
   * order, and positions the subscription at the table's head: every offset up to it is
   * either sent or superseded by what was.
   */
  async replay(target: ConflatedTarget, query: LatestQuery): Promise<SubscribeOutcome> {
    const read = await this.read(target.topic, query);
    const { position } = target;
    if (!target.isCurrent()) {
      return { offset: read.head, epoch: read.epoch, recovered: true, replayed: 0 };
    }
    if (position.epoch !== read.epoch) position.lastOffset = 0;
    position.epoch = read.epoch;
    let replayed = 0;
    for (const entry of read.entries) {
      if (entry.offset <= position.lastOffset) continue;
      target.connection.sendPrepared(this.frame(entry), "message");
      position.lastOffset = entry.offset;
      replayed += 1;
    }
    position.lastOffset = Math.max(read.head, position.lastOffset);
    return { offset: position.lastOffset, epoch: read.epoch, recovered: true, replayed };
  }

  /**
   * Stops sending every message to the subscription; once half of the high-water mark
   * is left queued it gets the latest entry of each key it missed.
   */
  fallBehind(target: ConflatedTarget): void {
    const { position, connection } = target;
    if (position.stopWaiting) return;
    this.hooks.onFellBehind(connection, target.topic);
    const { highWaterMark, clock } = this.settings;
    position.stopWaiting = whenDrained(connection, highWaterMark / 2, clock, () => {
      position.stopWaiting = undefined;
      void this.catchUp(target);
    });
  }

  private async catchUp(target: ConflatedTarget): Promise<void> {
    const { position, connection } = target;
    if (!target.isCurrent() || connection.closing) return;
    position.pending = [];
    try {
      let read = await this.read(target.topic, { after: position.lastOffset });
      if (read.epoch !== position.epoch) read = await this.read(target.topic, {});
      if (!target.isCurrent()) return;
      if (read.epoch !== position.epoch) position.lastOffset = 0;
      position.epoch = read.epoch;
      for (const entry of read.entries) {
        if (entry.offset <= position.lastOffset) continue;
        if (this.isBehind(connection)) {
          // Behind again mid-table: the rest (and the held live entries) are in the table.
          position.pending = undefined;
          this.fallBehind(target);
          return;
        }
        connection.sendPrepared(this.frame(entry), "message");
        position.lastOffset = entry.offset;
      }
      position.lastOffset = Math.max(read.head, position.lastOffset);
    } catch (error) {
      position.pending = undefined;
      if (target.isCurrent()) this.hooks.onCatchUpError(connection, target.topic, error);
      return;
    }
    target.flushPending();
  }

  private read(topic: string, query: LatestQuery): Promise<LatestRead> {
    const latest = this.broker.latest;
    if (latest === undefined) throw new Error("the broker keeps no latest-per-key table");
    return latest.call(this.broker, topic, query);
  }

  private frame(entry: LogEntry): PreparedMessage {
    let frame = this.frames.get(entry);
    if (frame === undefined) {
      frame = prepareEntry(entry, true);
      this.frames.set(entry, frame);
    }
    return frame;
  }
}
