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

export interface TickCoalescerOptions {
  /**
   * Kernel writes made before the coalescer yields to the event loop; the targets beyond
   * them are written in slices of this size, one per event-loop turn.
   * @default SLICE_WRITES
   */
  readonly sliceWrites?: number;
  /**
   * Runs the next slice after the event loop had its turn (timers, I/O).
   * @default setImmediate
   */
  readonly defer?: (next: () => void) => void;
}

/**
 * Kernel writes per slice: about 5 ms of loopback writes on a 2-vCPU machine, so that a
 * fan-out to 15,000 sockets lets the event loop turn about every 5 ms instead of holding
 * it for the whole fan-out (docs/performance.md, "Scale").
 */
export const SLICE_WRITES = 256;

/**
 * Coalesces writes per target within a tick (docs/performance.md): the first chunk a
 * target gets in a tick goes straight out (no added latency for a lone message); further
 * chunks in the same tick leave together when the tick ends, so a burst of N messages
 * costs one write per target instead of N (the kernel write is most of a delivery's cost).
 *
 * And it slices: one tick makes at most `sliceWrites` kernel writes. The targets after
 * those are queued like a second chunk, in the order they came, and written a slice per
 * event-loop turn, so timers (heartbeats), reads and accepts run between the slices of a
 * fan-out to thousands of sockets instead of after all of it. While a backlog waits, every
 * write joins it (first in, first out): when messages come faster than the kernel takes
 * them, each target's chunks pile up and leave together, so the cost per message falls
 * until the writes keep up. A target's chunks always leave in the order they were given.
 * Shared by the WebSocket writer and the SSE stream.
 */
export function createTickCoalescer<T extends CoalesceTarget>(
  output: CoalescedOutput<T>,
  options: TickCoalescerOptions = {},
): TickCoalescer<T> {
  const sliceWrites = options.sliceWrites ?? SLICE_WRITES;
  const defer = options.defer ?? setImmediate;
  /** Targets with chunks queued, oldest first; `head` is the next one to write. */
  let queue: T[] = [];
  let head = 0;
  let tick = 1;
  /** Kernel writes made in this tick. */
  let written = 0;
  let tickEnding = false;
  let sliceDeferred = false;

  /** Writes queued targets until `budget` writes are spent; true when the queue is empty. */
  const drain = (budget: number): boolean => {
    let spent = 0;
    while (head < queue.length && spent < budget) {
      const target = queue[head] as T;
      head += 1;
      if (target.pendingFrames !== undefined) {
        flush(target);
        spent += 1;
      }
    }
    if (head < queue.length) return false;
    queue = [];
    head = 0;
    return true;
  };

  const nextSlice = (): void => {
    sliceDeferred = false;
    if (!drain(sliceWrites)) deferSlice();
  };

  const deferSlice = (): void => {
    if (sliceDeferred) return;
    sliceDeferred = true;
    defer(nextSlice);
  };

  const endOfTick = (): void => {
    tickEnding = false;
    const budget = sliceWrites - written;
    tick += 1;
    written = 0;
    // While a slice is deferred, the queue waits for it: this tick's writes have had their
    // share, and what else is queued is behind older targets.
    if (sliceDeferred || queue.length === head) return;
    if (budget <= 0 || !drain(budget)) deferSlice();
  };

  // The end of the tick is a bare V8 microtask, not process.nextTick or queueMicrotask:
  // a tick callback makes Node run its JS tick queue (async-hook bookkeeping, rejection
  // processing) after every socket read, and queueMicrotask wraps each callback in an
  // AsyncResource; one or the other per request was a measurable share of a round trip.
  const resolved = Promise.resolve();
  const schedule = (): void => {
    if (tickEnding) return;
    tickEnding = true;
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
      // Behind a backlog, a target waits its turn even with nothing queued: written at
      // once, the first targets of every fan-out would starve the rest of the queue.
      if (target.writtenTick === tick || written >= sliceWrites || head < queue.length) {
        target.pendingFrames = [chunk];
        target.pendingBytes = chunk.length;
        queue.push(target);
        return;
      }
      written += 1;
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
