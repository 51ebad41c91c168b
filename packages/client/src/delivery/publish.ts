import { type BackoffPolicy, createSchedule, exponential, type Schedule } from "@lifeline/backoff";
import type { Contract, ErrorBody, PublishAck } from "@lifeline/protocol";
import { ClientErrorCode, LifelineError } from "../errors.js";
import { type AbortSignalLike, abortError, onAbort } from "../util/abort.js";
import { after, type Clock } from "../util/clock.js";
import type { OutboxEntry } from "./outbox.js";
import { type LanePublish, PublishLanes } from "./publish-lanes.js";
import type { Sender } from "./sender.js";

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

/**
 * Delays between releases of a topic held by such refusals: 0.5 s doubling to 15 s,
 * jittered, no end; back to 0.5 s once a publish of the topic goes through.
 */
export const defaultPublishRetry: BackoffPolicy = exponential({
  baseMs: 500,
  capMs: 15_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  jitter: "equal",
});

/** What the application waits on for one publish. */
interface Waiter {
  readonly resolve: (ack: PublishAck) => void;
  readonly reject: (error: LifelineError) => void;
  readonly dispose: () => void;
}

export interface PublishTracker {
  /** Publishes the application still waits for. */
  readonly size: number;
  start(topic: string, data: unknown, options: PublishOptions | undefined): Promise<PublishAck>;
  markSent(id: string): void;
  settle(
    id: string,
    outcome: { ok: true; result: unknown } | { ok: false; error: ErrorBody },
  ): boolean;
  /**
   * The connection dropped: publishes sent on it and not acknowledged, or held after a
   * refusal, in the order `publish()` was called, to be sent again (same id) on the next
   * connection ahead of the outbox.
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

function queueFull(topic: string): LifelineError {
  return new LifelineError(
    ClientErrorCode.QueueFull,
    `publish to "${topic}" refused: too many publishes wait (queue.max) for the connection or behind refused ones`,
  );
}

/**
 * Tracks publishes until the server answers them, keeping each topic's publishes in the
 * order `publish()` was called (PROTOCOL.md, "Publish order"): a publish refused for a
 * passing reason is sent again after a backoff delay, and the later ones of its topic
 * wait behind it (publish-lanes.ts).
 */
export function createPublishTracker(options: {
  readonly clock: Clock;
  readonly sender: Sender;
  readonly contract: Contract | undefined;
  /** Most publishes held behind refused ones at once (the outbox's bound). */
  readonly maxWaiting: number;
  readonly retry: BackoffPolicy;
  readonly random: () => number;
}): PublishTracker {
  const { clock, sender, contract, maxWaiting, retry, random } = options;
  const lanes = new PublishLanes();
  const waiters = new Map<string, Waiter>();
  const releases = new Map<string, { schedule: Schedule; cancel: (() => void) | undefined }>();

  /** Stops waiting for `publish`; returns its waiter, if the application still had one. */
  const letGo = (publish: LanePublish, keepInLane: boolean): Waiter | undefined => {
    const waiter = waiters.get(publish.entry.id);
    waiters.delete(publish.entry.id);
    waiter?.dispose();
    publish.awaited = false;
    if (!keepInLane) lanes.remove(publish);
    return waiter;
  };

  /** Hands `publish` to the connection; false when the outbox is full (it then fails). */
  const deliver = (publish: LanePublish): boolean => {
    const outcome = sender.deliver(publish.entry);
    if (outcome !== "full") return true;
    letGo(publish, false)?.reject(queueFull(publish.topic));
    return false;
  };

  const release = (topic: string): void => {
    const state = releases.get(topic);
    if (state) state.cancel = undefined;
    for (const publish of lanes.release(topic)) deliver(publish);
    if (!lanes.has(topic)) releases.delete(topic);
  };

  /** Holds `publish` and its lane after a refusal for a passing reason. */
  const hold = (publish: LanePublish): void => {
    const { withdraw, schedule } = lanes.hold(publish);
    for (const later of withdraw) sender.withdraw(later.entry.id);
    if (schedule) scheduleRelease(publish.topic);
  };

  const scheduleRelease = (topic: string): void => {
    let state = releases.get(topic);
    if (!state) {
      state = { schedule: createSchedule(retry, { random }), cancel: undefined };
      releases.set(topic, state);
    }
    state.cancel = after(clock, state.schedule.next() ?? 0, () => release(topic));
  };

  const stopReleases = (): void => {
    for (const state of releases.values()) state.cancel?.();
    releases.clear();
  };

  /** The application stops waiting: a publish the server may still answer stays in line. */
  const abandon = (publish: LanePublish, error: LifelineError): void => {
    const onWire = publish.stage === "wire" || publish.stage === "held";
    if (publish.stage === "queued") sender.withdraw(publish.entry.id);
    letGo(publish, onWire)?.reject(error);
  };

  const answer = (
    publish: LanePublish,
    outcome: { ok: true; result: unknown } | { ok: false; error: ErrorBody },
  ): void => {
    const waiter = letGo(publish, false);
    // A topic whose publish went through starts its next refusal's backoff from the start.
    if (outcome.ok) releases.get(publish.topic)?.schedule.reset();
    if (!lanes.has(publish.topic)) releases.delete(publish.topic);
    if (!waiter) return;
    if (!outcome.ok) {
      waiter.reject(new LifelineError(outcome.error.code, outcome.error.message));
    } else if (!isAck(outcome.result)) {
      waiter.reject(
        new LifelineError(
          ClientErrorCode.InvalidMessage,
          `publish to "${publish.topic}" expects an ack {topic, offset, epoch}, got ${JSON.stringify(outcome.result)?.slice(0, 80)}`,
        ),
      );
    } else {
      waiter.resolve(outcome.result);
    }
  };

  return {
    get size() {
      return waiters.size;
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
      const id = sender.nextId("p");
      const entry: OutboxEntry = {
        id,
        kind: "publish",
        frame: JSON.stringify({ type: "publish", id, topic, data }),
      };
      return new Promise<PublishAck>((resolve, reject) => {
        const publish = lanes.add(entry, topic);
        // Publishes held behind a refused one sit in no outbox; they share its bound.
        if (publish.stage === "blocked" && lanes.waitingCount > maxWaiting) {
          lanes.remove(publish);
          reject(queueFull(topic));
          return;
        }
        const timeoutMs = callOptions?.timeoutMs ?? Number.POSITIVE_INFINITY;
        const stopTimer = Number.isFinite(timeoutMs)
          ? after(clock, timeoutMs, () =>
              abandon(
                publish,
                new LifelineError(
                  ClientErrorCode.Timeout,
                  `publish to "${topic}" was not acknowledged within ${timeoutMs} ms`,
                ),
              ),
            )
          : () => {};
        const stopAbort = onAbort(signal, () =>
          abandon(publish, abortError(signal as AbortSignalLike, `publish to "${topic}"`)),
        );
        waiters.set(id, {
          resolve,
          reject,
          dispose: () => {
            stopTimer();
            stopAbort();
          },
        });
        if (publish.stage === "queued") deliver(publish);
        else if (lanes.claimRelease(topic)) scheduleRelease(topic);
      });
    },
    markSent(id) {
      const publish = lanes.get(id);
      if (!publish) return;
      publish.inFlight += 1;
      if (publish.stage === "queued") lanes.setStage(publish, "wire");
    },
    settle(id, outcome) {
      const publish = lanes.get(id);
      if (!publish) return false;
      publish.inFlight = Math.max(0, publish.inFlight - 1);
      if (!outcome.ok && RETRYABLE_REFUSALS.has(outcome.error.code)) {
        // A refusal of an earlier send of a publish already sent again is stale.
        if (publish.inFlight === 0) hold(publish);
        return true;
      }
      answer(publish, outcome);
      return true;
    },
    takeUnacknowledged() {
      stopReleases();
      return lanes.takeForResend().map((publish) => publish.entry);
    },
    rejectAll(error) {
      stopReleases();
      for (const publish of lanes.clear()) {
        const waiter = waiters.get(publish.entry.id);
        waiters.delete(publish.entry.id);
        waiter?.dispose();
        waiter?.reject(error);
      }
    },
  };
}
