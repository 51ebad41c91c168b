import type { ClientMessage, Contract, ErrorBody } from "@lifeline/protocol";
import { ClientErrorCode, LifelineError } from "../errors.js";
import { type AbortSignalLike, abortError, onAbort } from "../util/abort.js";
import { after, type Clock } from "../util/clock.js";
import type { Sender } from "./sender.js";

/** Per-call options of `request()`. */
export interface RequestOptions {
  /**
   * Milliseconds to wait for the response, counted from the call (time spent queued while
   * disconnected included). Also sent to the server as `timeout_ms`.
   * @default the client's `requestTimeoutMs` (15000)
   */
  readonly timeoutMs?: number;
  /**
   * Aborts the request: it is withdrawn from the queue, or its response is ignored.
   * @default undefined (not abortable)
   */
  readonly signal?: AbortSignalLike;
}

interface PendingRequest {
  /** What the errors name: `request "<method>"`, `history of "<topic>"`. */
  readonly label: string;
  /** The contract's method whose result is checked; none for other calls. */
  readonly method: string | undefined;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: LifelineError) => void;
  readonly dispose: () => void;
  sent: boolean;
}

export interface RequestTracker {
  readonly size: number;
  start(method: string, params: unknown, options: RequestOptions | undefined): Promise<unknown>;
  /**
   * Sends another message answered by a `response` (a `history`), with the timeout, abort,
   * outbox and connection-loss handling of a request. `message` builds it from its id.
   */
  call(
    label: string,
    message: (id: string, timeoutMs: number) => ClientMessage,
    options: RequestOptions | undefined,
  ): Promise<unknown>;
  /** A queued request left the outbox on the current connection. */
  markSent(id: string): void;
  /** Settles the request with this id; false when no request has it. */
  settle(
    id: string,
    outcome: { ok: true; result: unknown } | { ok: false; error: ErrorBody },
  ): boolean;
  /** The connection dropped: requests sent on it will never get their response. */
  connectionLost(reason: string): void;
  rejectAll(error: LifelineError): void;
}

interface RequestTrackerOptions {
  readonly clock: Clock;
  readonly sender: Sender;
  readonly contract: Contract | undefined;
  readonly defaultTimeoutMs: number;
}

export function createRequestTracker(options: RequestTrackerOptions): RequestTracker {
  return new Requests(options);
}

/**
 * Requests waiting for their `response`, by id: each with a deadline counted from the
 * call, an optional abort signal, and a slot in the outbox while disconnected.
 */
class Requests implements RequestTracker {
  readonly #pending = new Map<string, PendingRequest>();

  readonly #options: RequestTrackerOptions;

  constructor(options: RequestTrackerOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#pending.size;
  }

  start(
    method: string,
    params: unknown,
    callOptions: RequestOptions | undefined,
  ): Promise<unknown> {
    const signal = callOptions?.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal, `request "${method}"`));
    const contract = this.#options.contract;
    if (contract) {
      const check = contract.checkParams(method, params);
      if (!check.ok) {
        return Promise.reject(
          new LifelineError(
            ClientErrorCode.InvalidMessage,
            `request "${method}" expects params matching the contract: ${check.issue.message}`,
          ),
        );
      }
    }
    const message = (id: string, timeoutMs: number): ClientMessage => ({
      type: "request",
      id,
      method,
      ...(params === undefined ? {} : { params }),
      timeout_ms: Math.max(1, Math.min(3_600_000, Math.round(timeoutMs))),
    });
    return this.#send(`request "${method}"`, method, message, callOptions);
  }

  call(
    label: string,
    message: (id: string, timeoutMs: number) => ClientMessage,
    callOptions: RequestOptions | undefined,
  ): Promise<unknown> {
    return this.#send(label, undefined, message, callOptions);
  }

  markSent(id: string): void {
    const entry = this.#pending.get(id);
    if (entry) entry.sent = true;
  }

  settle(
    id: string,
    outcome: { ok: true; result: unknown } | { ok: false; error: ErrorBody },
  ): boolean {
    const entry = this.#finish(id);
    if (!entry) return false;
    if (!outcome.ok) {
      entry.reject(new LifelineError(outcome.error.code, outcome.error.message));
      return true;
    }
    const contract = this.#options.contract;
    if (contract && entry.method !== undefined) {
      const check = contract.checkResult(entry.method, outcome.result);
      if (!check.ok) {
        entry.reject(
          new LifelineError(
            ClientErrorCode.InvalidMessage,
            `response to "${entry.method}" does not match the contract: ${check.issue.message}`,
          ),
        );
        return true;
      }
    }
    entry.resolve(outcome.result);
    return true;
  }

  connectionLost(reason: string): void {
    for (const [id, entry] of [...this.#pending]) {
      if (!entry.sent) continue;
      this.#finish(id);
      entry.reject(
        new LifelineError(
          ClientErrorCode.ConnectionLost,
          entry.method === undefined
            ? `${entry.label} was sent but the connection dropped before its response (${reason}); ask again once reconnected`
            : `${entry.label} was sent but the connection dropped before its response (${reason}); it was not retried because requests need not be idempotent`,
        ),
      );
    }
  }

  rejectAll(error: LifelineError): void {
    for (const [id, entry] of [...this.#pending]) {
      this.#finish(id);
      entry.reject(error);
    }
  }

  #finish(id: string): PendingRequest | undefined {
    const entry = this.#pending.get(id);
    if (!entry) return undefined;
    this.#pending.delete(id);
    entry.dispose();
    return entry;
  }

  #send(
    label: string,
    method: string | undefined,
    messageOf: (id: string, timeoutMs: number) => ClientMessage,
    callOptions: RequestOptions | undefined,
  ): Promise<unknown> {
    const signal = callOptions?.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal, label));
    const { clock, sender } = this.#options;
    const timeoutMs = callOptions?.timeoutMs ?? this.#options.defaultTimeoutMs;
    const id = sender.nextId("r");
    return new Promise<unknown>((resolve, reject) => {
      const fail = (error: LifelineError) => {
        if (!this.#finish(id)) return;
        sender.withdraw(id);
        reject(error);
      };
      const stopTimer = after(clock, timeoutMs, () =>
        fail(
          new LifelineError(
            ClientErrorCode.Timeout,
            `${label} got no response within ${timeoutMs} ms`,
          ),
        ),
      );
      const stopAbort = onAbort(signal, () => fail(abortError(signal as AbortSignalLike, label)));
      this.#pending.set(id, {
        label,
        method,
        resolve,
        reject,
        sent: false,
        dispose: () => {
          stopTimer();
          stopAbort();
        },
      });
      const outcome = sender.deliver({ id, kind: "request", message: messageOf(id, timeoutMs) });
      if (outcome === "sent") this.markSent(id);
      else if (outcome === "full") {
        fail(
          new LifelineError(
            ClientErrorCode.QueueFull,
            `${label} refused: the outbox is full while disconnected`,
          ),
        );
      }
    });
  }
}
