import type { LogEntry, TopicHead } from "@lifeline/protocol";

/** What one atomic read of the topic returned: every retained entry after some offset. */
export interface TopicRead {
  readonly epoch: string;
  /** Latest offset at the time of the read. */
  readonly head: number;
  /** Retained entries after the offset asked for, in order, none missing up to `head`. */
  readonly entries: readonly LogEntry[];
}

export interface FillOutcome {
  /** Entries to deliver now, in offset order. */
  readonly deliver: readonly LogEntry[];
  /** Offsets skipped because Redis no longer retained them (trimmed before they could be read). */
  readonly skipped: number;
  /** The epoch changed: the next fill must start from offset 0 of the new epoch. */
  readonly epochChanged: boolean;
}

/**
 * Per-topic delivery order on one node. Live entries (pub/sub) are offered one by one;
 * offsets go out strictly in order and at most once. A live entry after a hole is held
 * until a fill (a read of the stream) supplies what is missing. A live entry of another
 * epoch means the topic's history was lost (Redis restarted without persistence): the
 * next fill moves to the epoch Redis now reports.
 *
 * Pure bookkeeping, no I/O: the feed does the reads and the delivery.
 */
export interface Sequencer {
  /** Where delivery stands: the last delivered offset and its epoch. */
  position(): TopicHead;
  /** The last delivered entry; undefined before the first one (or after an epoch change). */
  last(): LogEntry | undefined;
  offer(entry: LogEntry): readonly LogEntry[];
  /** True when held entries wait behind a hole or another epoch was seen. */
  needsFill(): boolean;
  /** Applies a read made with `afterOffset`; entries of `read` must be complete up to `read.head`. */
  applyFill(read: TopicRead, afterOffset: number): FillOutcome;
  /** Number of entries held behind a hole. */
  held(): number;
}

export function createSequencer(start: TopicHead): Sequencer {
  let epoch = start.epoch;
  let delivered = start.offset;
  let otherEpochSeen = false;
  let last: LogEntry | undefined;
  const pending = new Map<number, LogEntry>();

  function lowestPending(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const offset of pending.keys()) if (offset < min) min = offset;
    return min;
  }

  function drainConsecutive(out: LogEntry[]): void {
    for (
      let next = pending.get(delivered + 1);
      next !== undefined;
      next = pending.get(delivered + 1)
    ) {
      pending.delete(next.offset);
      delivered = next.offset;
      last = next;
      out.push(next);
    }
  }

  return {
    position: () => ({ epoch, offset: delivered }),
    last: () => last,
    held: () => pending.size,
    needsFill: () => otherEpochSeen || (pending.size > 0 && lowestPending() > delivered + 1),

    offer(entry) {
      if (entry.epoch !== epoch) {
        otherEpochSeen = true;
        return [];
      }
      if (entry.offset <= delivered) return [];
      pending.set(entry.offset, entry);
      const out: LogEntry[] = [];
      drainConsecutive(out);
      return out;
    },

    applyFill(read, afterOffset) {
      const epochChanged = read.epoch !== epoch;
      if (epochChanged) {
        epoch = read.epoch;
        delivered = 0;
        last = undefined;
        pending.clear();
        otherEpochSeen = false;
        // A read after a non-zero offset of the old epoch says nothing about the new one.
        if (afterOffset !== 0) return { deliver: [], skipped: 0, epochChanged: true };
      }
      otherEpochSeen = false;
      for (const entry of read.entries) {
        if (entry.offset > delivered) pending.set(entry.offset, entry);
      }
      const out: LogEntry[] = [];
      let skipped = 0;
      drainConsecutive(out);
      // Everything up to `head` that Redis still had is now known; what is still missing
      // below it was trimmed and will never come, so delivery moves past it.
      for (let min = lowestPending(); min <= read.head; min = lowestPending()) {
        skipped += min - delivered - 1;
        delivered = min - 1;
        drainConsecutive(out);
      }
      if (delivered < read.head) {
        skipped += read.head - delivered;
        delivered = read.head;
        drainConsecutive(out);
      }
      return { deliver: out, skipped, epochChanged };
    },
  };
}
