/**
 * Per-target write state, kept on the connection itself as plain fields (no map lookup,
 * no extra object per connection).
 */
export interface CoalesceTarget {
  /** Chunks queued for the end of the tick, when more than one came in this tick. */
  pendingFrames: Buffer[] | undefined;
  pendingBytes: number;
  /** The tick in which this target last had a chunk written straight through. */
  writtenTick: number;
}

/** Where a coalescer's chunks go out: one alone, or several together. */
export interface CoalescedOutput<T> {
  writeOne(target: T, chunk: Buffer): void;
  writeMany(target: T, chunks: Buffer[], total: number): void;
}

export interface TickCoalescer<T extends CoalesceTarget> {
  /** Writes `chunk` now when it is the target's first this tick, else queues it. */
  write(target: T, chunk: Buffer): void;
  /** Writes what is queued for `target` now (before a control frame or a close). */
  flush(target: T): void;
}

/**
 * Coalesces writes per target within a tick (docs/performance.md): the first chunk a
 * target gets in a tick goes straight out (no added latency for a lone message); further
 * chunks in the same tick leave together when the tick ends, so a burst of N messages
 * costs one write per target instead of N (the kernel write is most of a delivery's cost).
 * Shared by the WebSocket writer and the SSE stream.
 */
export function createTickCoalescer<T extends CoalesceTarget>(
  output: CoalescedOutput<T>,
): TickCoalescer<T> {
  const dirty: T[] = [];
  let tick = 1;
  let scheduled = false;

  const endOfTick = (): void => {
    scheduled = false;
    tick += 1;
    if (dirty.length === 0) return;
    for (let i = 0; i < dirty.length; i += 1) flush(dirty[i] as T);
    dirty.length = 0;
  };

  // The end of the tick is a bare V8 microtask, not process.nextTick or queueMicrotask:
  // a tick callback makes Node run its JS tick queue (async-hook bookkeeping, rejection
  // processing) after every socket read, and queueMicrotask wraps each callback in an
  // AsyncResource; one or the other per request was a measurable share of a round trip.
  const resolved = Promise.resolve();
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    void resolved.then(endOfTick);
  };

  function flush(target: T): void {
    const pending = target.pendingFrames;
    if (pending === undefined) return;
    const total = target.pendingBytes;
    target.pendingFrames = undefined;
    target.pendingBytes = 0;
    if (pending.length === 1) output.writeOne(target, pending[0] as Buffer);
    else output.writeMany(target, pending, total);
  }

  return {
    write(target, chunk) {
      const pending = target.pendingFrames;
      if (pending !== undefined) {
        pending.push(chunk);
        target.pendingBytes += chunk.length;
        return;
      }
      schedule();
      if (target.writtenTick === tick) {
        target.pendingFrames = [chunk];
        target.pendingBytes = chunk.length;
        dirty.push(target);
        return;
      }
      target.writtenTick = tick;
      output.writeOne(target, chunk);
    },
    flush,
  };
}

/** What `writeJoined` writes to: a net socket or an HTTP response. */
export interface CorkableWritable {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
}

/** Chunks up to this size in all are joined into one buffer; larger ones go corked. */
export const JOIN_LIMIT = 64 * 1024;

/** Writes several chunks as one kernel write: joined when small, corked (writev) when not. */
export function writeJoined(out: CorkableWritable, chunks: Buffer[], total: number): void {
  if (total <= JOIN_LIMIT) {
    out.write(Buffer.concat(chunks, total));
    return;
  }
  out.cork();
  for (const chunk of chunks) out.write(chunk);
  out.uncork();
}
