import type { Clock, TimerHandle } from "./clock.js";

/** How often a connection that fell behind is checked when no `drain` event tells us. */
const DRAIN_POLL_MS = 50;

/** What `whenDrained` watches: the bytes queued for a connection, and its wire's drain. */
export interface DrainTarget {
  readonly bufferedBytes: number;
  /** Calls `callback` when the wire says its queue drained (it may never); returns the undo. */
  onDrain(callback: () => void): () => void;
}

/**
 * Calls `callback` once, when at most `lowWaterMark` bytes are queued for `target`.
 * The wire's drain event wakes it as soon as the kernel took everything (when the
 * transport can tell); a timer on the injected clock covers frames
 * queued elsewhere (the writer's end-of-tick queue, the library's own queue), which emit nothing.
 * Returns the cancel.
 */
export function whenDrained(
  target: DrainTarget,
  lowWaterMark: number,
  clock: Clock,
  callback: () => void,
): () => void {
  let timer: TimerHandle | undefined;
  let done = false;
  const stop = (): void => {
    done = true;
    undo();
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  };
  function check(): void {
    if (done) return;
    if (target.bufferedBytes <= lowWaterMark) {
      stop();
      callback();
      return;
    }
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = clock.setTimeout(check, DRAIN_POLL_MS);
  }
  const undo = target.onDrain(check);
  timer = clock.setTimeout(check, DRAIN_POLL_MS);
  return stop;
}
