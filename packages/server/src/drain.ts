import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import type { Clock, TimerHandle } from "./clock.js";

/** How often a connection that fell behind is checked when no `drain` event tells us. */
const DRAIN_POLL_MS = 50;

/** What `whenDrained` watches: a connection's socket and the bytes queued for it. */
export interface DrainTarget {
  readonly socket: WebSocket;
  readonly bufferedBytes: number;
}

/**
 * Calls `callback` once, when at most `lowWaterMark` bytes are queued for `target`.
 * The raw socket's `drain` event wakes it as soon as the kernel took everything (the
 * `_socket` of `ws`, used when present); a timer on the injected clock covers frames
 * queued elsewhere (the writer's end-of-tick queue, `ws`'s own queue), which emit nothing.
 * Returns the cancel.
 */
export function whenDrained(
  target: DrainTarget,
  lowWaterMark: number,
  clock: Clock,
  callback: () => void,
): () => void {
  const raw = (target.socket as unknown as { readonly _socket?: Socket })._socket;
  let timer: TimerHandle | undefined;
  let done = false;
  const stop = (): void => {
    done = true;
    raw?.off("drain", check);
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
  raw?.on("drain", check);
  timer = clock.setTimeout(check, DRAIN_POLL_MS);
  return stop;
}
