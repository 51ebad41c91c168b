import { ClientErrorCode, LifelineError } from "../errors.js";

/** The part of `AbortSignal` the client uses (structural, so no DOM typings are needed). */
export interface AbortSignalLike {
  /** True once the signal aborted. */
  readonly aborted: boolean;
  /** Why it aborted: what `abort(reason)` was given. */
  readonly reason?: unknown;
  /** Calls `listener` when the signal aborts. */
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  /** Removes a listener added with `addEventListener`. */
  removeEventListener(type: "abort", listener: () => void): void;
}

export function abortError(signal: AbortSignalLike, what: string): LifelineError {
  return new LifelineError(ClientErrorCode.Aborted, `${what} was aborted`, {
    cause: signal.reason,
  });
}

/** Calls `onAbort` when `signal` fires; returns the function that stops listening. */
export function onAbort(signal: AbortSignalLike | undefined, onAbortFn: () => void): () => void {
  if (!signal) return () => {};
  signal.addEventListener("abort", onAbortFn, { once: true });
  return () => signal.removeEventListener("abort", onAbortFn);
}
