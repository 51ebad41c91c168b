import type { EntryListener, LogEntry } from "@lifeline/protocol";
import type { Logger } from "./logger.js";
import { createSequencer, type Sequencer, type TopicRead } from "./sequencer.js";

/** Fills in one run of the feed before it waits for the next trigger. */
const MAX_FILLS_PER_RUN = 8;

export interface TopicFeedDeps {
  readonly topic: string;
  /** Reads every retained entry after `afterOffset` (count 0 reads the head only). */
  read(afterOffset: number, headOnly: boolean): Promise<TopicRead>;
  /** Starts a new epoch for the topic unless its epoch is no longer `epoch`. */
  rotate(epoch: string): Promise<void>;
  readonly logger: Logger;
}

/**
 * One topic's live delivery on this node: pub/sub entries in, listeners called in offset
 * order, holes filled from the stream. Exactly one per subscribed topic per node.
 */
export interface TopicFeed {
  /** Reads the head and starts delivery after it; live entries pushed before are kept. */
  start(): Promise<void>;
  add(listener: EntryListener): () => void;
  readonly listenerCount: number;
  /** A live entry from pub/sub. */
  push(entry: LogEntry): void;
  /**
   * Asks for a fill even without a visible hole: after a reconnect, entries published
   * while this node was not subscribed exist only in the stream.
   */
  resync(): void;
  /**
   * The connection to Redis was lost: hold live entries until a fill made after this call
   * has checked that Redis still has what this node delivered. A fail-over or a restart
   * from an AOF fsynced every second may hand delivered offsets out again, and a live entry
   * after them would otherwise be delivered as if it followed them.
   */
  suspend(): void;
}

export function createTopicFeed(deps: TopicFeedDeps): TopicFeed {
  const { topic, logger } = deps;
  const listeners = new Set<EntryListener>();
  let sequencer: Sequencer | undefined;
  let early: LogEntry[] = [];
  // A resync asked during a fill must not be cleared by that older fill's result.
  let staleGeneration = 0;
  let cleanGeneration = 0;
  let running = false;
  let held: LogEntry[] | undefined;
  let holdUntil = 0;

  function deliver(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      for (const listener of [...listeners]) {
        try {
          listener(entry);
        } catch (error) {
          logger.error({ err: error, topic, offset: entry.offset }, "redis broker: listener threw");
        }
      }
    }
  }

  function needsFill(seq: Sequencer): boolean {
    return staleGeneration !== cleanGeneration || seq.needsFill();
  }

  /**
   * Redis forgot offsets this node delivered (restart from an AOF fsynced every second):
   * its head is below them, or the entry at the last delivered offset is a different one
   * (another time or data: one with both equal is, for every reader, the same message).
   * Those offsets would be handed out again, so the epoch must change.
   */
  function regressed(
    read: TopicRead,
    after: number,
    epoch: string,
    last: LogEntry | undefined,
  ): boolean {
    if (read.epoch !== epoch || after === 0) return false;
    if (read.head < after) return true;
    const first = read.entries[0];
    // `last` must be the entry at `after`, both taken before the read: live entries keep
    // arriving while it is in flight, and comparing Redis's entry at `after` with a later
    // one would take a healthy topic for a lost one and throw its history away.
    if (first === undefined || last === undefined || last.offset !== after) return false;
    if (first.offset !== after) return false;
    return first.ts !== last.ts || JSON.stringify(first.data) !== JSON.stringify(last.data);
  }

  async function run(): Promise<void> {
    const seq = sequencer;
    if (running || seq === undefined) return;
    running = true;
    try {
      for (let i = 0; i < MAX_FILLS_PER_RUN && needsFill(seq); i++) {
        const generation = staleGeneration;
        const { offset: after, epoch } = seq.position();
        const lastDelivered = seq.last();
        // Reading from one before also returns the last delivered entry, to check that
        // Redis still has the same one (see regressed()).
        const read = await deps.read(Math.max(0, after - 1), false);
        if (regressed(read, after, epoch, lastDelivered)) {
          await deps.rotate(epoch);
          logger.error(
            { topic, epoch, delivered: after, head: read.head },
            "redis broker: Redis lost appends this node already delivered; started a new epoch",
          );
          continue;
        }
        const outcome = seq.applyFill(read, after);
        if (outcome.epochChanged) {
          logger.warn(
            { topic, epoch: read.epoch },
            "redis broker: topic history was lost, new epoch",
          );
        }
        if (outcome.skipped > 0) {
          logger.warn(
            { topic, skipped: outcome.skipped, epoch: read.epoch },
            "redis broker: entries were trimmed from Redis before this node could read them",
          );
        }
        if (!outcome.epochChanged || after === 0) cleanGeneration = generation;
        deliver(outcome.deliver);
        if (held !== undefined && generation >= holdUntil) {
          const release = held;
          held = undefined;
          for (const entry of release) deliver(seq.offer(entry));
        }
      }
    } catch (error) {
      // Redis is unreachable: the reconnect handler calls resync() once it is back.
      staleGeneration++;
      logger.warn({ err: error, topic }, "redis broker: could not fill from the stream");
    } finally {
      running = false;
    }
    if (!running && needsFill(seq) && staleGeneration === cleanGeneration) void run();
  }

  return {
    async start() {
      const read = await deps.read(0, true);
      const seq = createSequencer({ epoch: read.epoch, offset: read.head });
      sequencer = seq;
      const buffered = early;
      early = [];
      for (const entry of buffered) deliver(seq.offer(entry));
      void run();
    },
    add(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    get listenerCount() {
      return listeners.size;
    },
    push(entry) {
      if (sequencer === undefined) {
        early.push(entry);
        return;
      }
      if (held !== undefined) {
        held.push(entry);
        return;
      }
      deliver(sequencer.offer(entry));
      if (sequencer.needsFill()) void run();
    },
    resync() {
      staleGeneration++;
      void run();
    },
    suspend() {
      if (sequencer === undefined) return;
      held ??= [];
      staleGeneration++;
      holdUntil = staleGeneration;
    },
  };
}
