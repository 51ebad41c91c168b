import { createSchedule, exponential, type Schedule } from "@lifeline/backoff";
import type { Contract, ErrorBody, PublishAck } from "@lifeline/protocol";
import { type AbortSignalLike, abortError, onAbort } from "./abort.js";
import { after, type Clock } from "./clock.js";
import { ClientErrorCode, LifelineError } from "./errors.js";
import type { OutboxEntry } from "./outbox.js";
import type { Transport } from "./transport.js";

/** Per-call options of `publish()`. */
export interface PublishOptions {
  /**
   * Milliseconds to wait for the server's acknowledgement, across reconnects. By default a
   * publish waits as long as the client lives: it is resent with the same id after every
   * reconnect until acknowledged, and the server appends it once.
   * @default Infinity
   */
  readonly timeoutMs?: number;
  /**
   * Gives up waiting. A publish already sent may still be appended by the server.
   * @default undefined (not abortable)
   */
  readonly signal?: AbortSignalLike;
}

/**
 * Refusals after which the server may or may not have appended the message (its broker
 * failed mid-append, or it shed load): the publish is sent again with the same id, which
 * the server appends at most once, instead of failing and tempting the application into a
 * new publish with a new id (a possible duplicate).
 */
const RETRYABLE_REFUSALS: ReadonlySet<string> = new Set(["overloaded", "rate_limited"]);

/** Delays between resends after such refusals: 0.5 s doubling to 15 s, jittered, no end. */
const PUBLISH_RETRY = exponential({
  baseMs: 500,
  capMs: 15_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  jitter: "equal",
});

interface PendingPublish {
  readonly entry: OutboxEntry;
  readonly topic: string;
  readonly resolve: (ack: PublishAck) => void;
  readonly reject: (error: LifelineError) => void;
  readonly dispose: () => void;
  sent: boolean;
  /** Delays of resends after retryable refusals; made at the first refusal. */
  retries: Schedule | undefined;
  /** Cancels the resend waiting to go out, if any. */
  cancelRetry: (() => void) | undefined;
}

export interface PublishTracker {
  readonly size: number;
  start(topic: string, data: unknown, options: PublishOptions | undefined): Promise<PublishAck>;
  markSent(id: string): void;
  settle(
    id: string,
    outcome: { ok: true; result: unknown } | { ok: false; error: ErrorBody },
  ): boolean;
  /**
   * The connection dropped: publishes sent on it and not acknowledged, oldest first, to be
   * sent again (same id) on the next connection.
   */
  takeUnacknowledged(): OutboxEntry[];
  rejectAll(error: LifelineError): void;
}

function isAck(value: unknown): value is PublishAck {
  if (typeof value !== "object" || value === null) return false;
  const ack = value as Record<string, unknown>;
  return (
    typeof ack.topic === "string" && typeof ack.offset === "number" && typeof ack.epoch === "string"
  );
}

export function createPublishTracker(options: {
  readonly clock: Clock;
  readonly transport: Transport;
  readonly contract: Contract | undefined;
}): PublishTracker {
  const { clock, transport, contract } = options;
  const pending = new Map<string, PendingPublish>();

  const finish = (id: string): PendingPublish | undefined => {
    const entry = pending.get(id);
    if (!entry) return undefined;
    pending.delete(id);
    entry.dispose();
    entry.cancelRetry?.();
    return entry;
  };

  /** Sends `entry` again after the next retry delay (same id: appended at most once). */
  const resendLater = (id: string, entry: PendingPublish): void => {
    entry.retries ??= createSchedule(PUBLISH_RETRY);
    entry.sent = false;
    entry.cancelRetry = after(clock, entry.retries.next() ?? 0, () => {
      entry.cancelRetry = undefined;
      if (pending.get(id) !== entry) return;
      const outcome = transport.deliver(entry.entry);
      if (outcome === "sent") entry.sent = true;
      else if (outcome === "full" && finish(id)) {
        entry.reject(
          new LifelineError(
            ClientErrorCode.QueueFull,
            `publish to "${entry.topic}" refused: the outbox is full while disconnected`,
          ),
        );
      }
    });
  };

  return {
    get size() {
      return pending.size;
    },
    start(topic, data, callOptions) {
      const signal = callOptions?.signal;
      if (signal?.aborted) return Promise.reject(abortError(signal, `publish to "${topic}"`));
      if (contract) {
        const check = contract.checkTopicData(topic, data);
        if (!check.ok) {
          return Promise.reject(
            new LifelineError(
              ClientErrorCode.InvalidMessage,
              `publish to "${topic}" expects data matching the contract: ${check.issue.message}`,
            ),
          );
        }
      }
      const id = transport.nextId("p");
      const entry: OutboxEntry = {
        id,
        kind: "publish",
        frame: JSON.stringify({ type: "publish", id, topic, data }),
      };
      return new Promise<PublishAck>((resolve, reject) => {
        const fail = (error: LifelineError) => {
          if (!finish(id)) return;
          transport.withdraw(id);
          reject(error);
        };
        const timeoutMs = callOptions?.timeoutMs ?? Number.POSITIVE_INFINITY;
        const stopTimer = Number.isFinite(timeoutMs)
          ? after(clock, timeoutMs, () =>
              fail(
                new LifelineError(
                  ClientErrorCode.Timeout,
                  `publish to "${topic}" was not acknowledged within ${timeoutMs} ms`,
                ),
              ),
            )
          : () => {};
        const stopAbort = onAbort(signal, () =>
          fail(abortError(signal as AbortSignalLike, `publish to "${topic}"`)),
        );
        pending.set(id, {
          entry,
          topic,
          resolve,
          reject,
          sent: false,
          retries: undefined,
          cancelRetry: undefined,
          dispose: () => {
            stopTimer();
            stopAbort();
          },
        });
        const outcome = transport.deliver(entry);
        if (outcome === "sent") {
          const current = pending.get(id);
          if (current) current.sent = true;
        } else if (outcome === "full") {
          fail(
            new LifelineError(
              ClientErrorCode.QueueFull,
              `publish to "${topic}" refused: the outbox is full while disconnected`,
            ),
          );
        }
      });
    },
    markSent(id) {
      const entry = pending.get(id);
      if (entry) entry.sent = true;
    },
    settle(id, outcome) {
      const waiting = pending.get(id);
      if (waiting && !outcome.ok && RETRYABLE_REFUSALS.has(outcome.error.code)) {
        resendLater(id, waiting);
        return true;
      }
      const entry = finish(id);
      if (!entry) return false;
      if (!outcome.ok) {
        entry.reject(new LifelineError(outcome.error.code, outcome.error.message));
      } else if (!isAck(outcome.result)) {
        entry.reject(
          new LifelineError(
            ClientErrorCode.InvalidMessage,
            `publish to "${entry.topic}" expects an ack {topic, offset, epoch}, got ${JSON.stringify(outcome.result)?.slice(0, 80)}`,
          ),
        );
      } else {
        entry.resolve(outcome.result);
      }
      return true;
    },
    takeUnacknowledged() {
      const resend: OutboxEntry[] = [];
      for (const entry of pending.values()) {
        if (!entry.sent) continue;
        entry.sent = false;
        resend.push(entry.entry);
      }
      return resend;
    },
    rejectAll(error) {
      for (const [id, entry] of [...pending]) {
        finish(id);
        entry.reject(error);
      }
    },
  };
}
