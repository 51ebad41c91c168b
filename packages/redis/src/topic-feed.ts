import type { EntryListener, LogEntry } from "@lifeline/server";
import type { Logger } from "./logger.js";
import { createSequencer, type Sequencer, type TopicRead } from "./sequencer.js";

/** Fills in one run of the feed before it waits for the next trigger. */
const MAX_FILLS_PER_RUN = 8;

export interface TopicFeedDeps {
  readonly topic: string;
  /** Reads every retained entry after `afterOffset` (count 0 reads the head only). */
  read(afterOffset: number, headOnly: boolean): Promise<TopicRead>;
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

  async function run(): Promise<void> {
    const seq = sequencer;
    if (running || seq === undefined) return;
    running = true;
    try {
      for (let i = 0; i < MAX_FILLS_PER_RUN && needsFill(seq); i++) {
        const generation = staleGeneration;
        const after = seq.position().offset;
        const read = await deps.read(after, false);
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
      deliver(sequencer.offer(entry));
      if (sequencer.needsFill()) void run();
    },
    resync() {
      staleGeneration++;
      void run();
    },
  };
}
