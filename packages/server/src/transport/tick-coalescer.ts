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

/** Writes a target's chunks out: one chunk, or several to be sent together. */
export type WriteOut<T> = (target: T, chunks: readonly Buffer[], total: number) => void;

export interface TickCoalescer<T extends CoalesceTarget> {
  /** Writes `chunk` now when it is the target's first this tick, else queues it. */
  write(target: T, chunk: Buffer): void;
  /** Writes what is queued for `target` now (before a close). */
  flush(target: T): void;
}

/**
 * Coalesces writes per target within a tick (docs/performance.md): the first chunk a
 * target gets in a tick goes straight out (no added latency for a lone message); further
 * chunks in the same tick leave together when the tick ends, so a burst of N messages
 * costs one write per target instead of N.
 */
export function createTickCoalescer<T extends CoalesceTarget>(
  writeOut: WriteOut<T>,
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

  // A bare V8 microtask, not process.nextTick or queueMicrotask: either makes Node run
  // extra bookkeeping per socket read (see the WebSocket writer).
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
    writeOut(target, pending, total);
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
      writeOut(target, [chunk], chunk.length);
    },
    flush,
  };
}
