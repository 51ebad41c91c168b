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

interface PublishTrackerOptions {
  readonly clock: Clock;
  readonly sender: Sender;
  readonly contract: Contract | undefined;
  /** Most publishes held behind refused ones at once (the outbox's bound). */
  readonly maxWaiting: number;
  readonly retry: BackoffPolicy;
  readonly random: () => number;
}

export function createPublishTracker(options: PublishTrackerOptions): PublishTracker {
  return new Publishes(options);
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: ErrorBody };

/**
 * Tracks publishes until the server answers them, keeping each topic's publishes in the
 * order `publish()` was called (PROTOCOL.md, "Publish order"): a publish refused for a
 * passing reason is sent again after a backoff delay, and the later ones of its topic
 * wait behind it (publish-lanes.ts).
 */
class Publishes implements PublishTracker {
  readonly #lanes = new PublishLanes();
  readonly #waiters = new Map<string, Waiter>();
  readonly #releases = new Map<string, { schedule: Schedule; cancel: (() => void) | undefined }>();

  readonly #options: PublishTrackerOptions;

  constructor(options: PublishTrackerOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#waiters.size;
  }

  start(
    topic: string,
    data: unknown,
    callOptions: PublishOptions | undefined,
  ): Promise<PublishAck> {
    const signal = callOptions?.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal, `publish to "${topic}"`));
    const contract = this.#options.contract;
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
    const id = this.#options.sender.nextId("p");
    const entry: OutboxEntry = {
      id,
      kind: "publish",
      message: { type: "publish", id, topic, data },
    };
    return new Promise<PublishAck>((resolve, reject) => {
      const publish = this.#lanes.add(entry, topic);
      // Publishes held behind a refused one sit in no outbox; they share its bound.
      if (publish.stage === "blocked" && this.#lanes.waitingCount > this.#options.maxWaiting) {
        this.#lanes.remove(publish);
        reject(queueFull(topic));
        return;
      }
      const dispose = this.#watchDeadlines(publish, callOptions);
      this.#waiters.set(id, { resolve, reject, dispose });
      if (publish.stage === "queued") this.#deliver(publish);
      else if (this.#lanes.claimRelease(topic)) this.#scheduleRelease(topic);
    });
  }

  markSent(id: string): void {
    const publish = this.#lanes.get(id);
    if (!publish) return;
    publish.inFlight += 1;
    if (publish.stage === "queued") this.#lanes.setStage(publish, "wire");
  }

  settle(id: string, outcome: Outcome): boolean {
    const publish = this.#lanes.get(id);
    if (!publish) return false;
    publish.inFlight = Math.max(0, publish.inFlight - 1);
    if (!outcome.ok && RETRYABLE_REFUSALS.has(outcome.error.code)) {
      // A refusal of an earlier send of a publish already sent again is stale.
      if (publish.inFlight === 0) this.#hold(publish);
      return true;
    }
    this.#answer(publish, outcome);
    return true;
  }

  takeUnacknowledged(): OutboxEntry[] {
    this.#stopReleases();
    return this.#lanes.takeForResend().map((publish) => publish.entry);
  }

  rejectAll(error: LifelineError): void {
    this.#stopReleases();
    for (const publish of this.#lanes.clear()) {
      const waiter = this.#waiters.get(publish.entry.id);
      this.#waiters.delete(publish.entry.id);
      waiter?.dispose();
      waiter?.reject(error);
    }
  }

  /** Starts the publish's timeout and abort watch; returns what stops both. */
  #watchDeadlines(publish: LanePublish, callOptions: PublishOptions | undefined): () => void {
    const { topic } = publish;
    const signal = callOptions?.signal;
    const timeoutMs = callOptions?.timeoutMs ?? Number.POSITIVE_INFINITY;
    const stopTimer = Number.isFinite(timeoutMs)
      ? after(this.#options.clock, timeoutMs, () =>
          this.#abandon(
            publish,
            new LifelineError(
              ClientErrorCode.Timeout,
              `publish to "${topic}" was not acknowledged within ${timeoutMs} ms`,
            ),
          ),
        )
      : () => {};
    const stopAbort = onAbort(signal, () =>
      this.#abandon(publish, abortError(signal as AbortSignalLike, `publish to "${topic}"`)),
    );
    return () => {
      stopTimer();
      stopAbort();
    };
  }

  /** Stops waiting for `publish`; returns its waiter, if the application still had one. */
  #letGo(publish: LanePublish, keepInLane: boolean): Waiter | undefined {
    const waiter = this.#waiters.get(publish.entry.id);
    this.#waiters.delete(publish.entry.id);
    waiter?.dispose();
    publish.awaited = false;
    if (!keepInLane) this.#lanes.remove(publish);
    return waiter;
  }

  /** Hands `publish` to the connection; false when the outbox is full (it then fails). */
  #deliver(publish: LanePublish): boolean {
    const outcome = this.#options.sender.deliver(publish.entry);
    if (outcome !== "full") return true;
    this.#letGo(publish, false)?.reject(queueFull(publish.topic));
    return false;
  }

  #release(topic: string): void {
    const state = this.#releases.get(topic);
    if (state) state.cancel = undefined;
    for (const publish of this.#lanes.release(topic)) this.#deliver(publish);
    if (!this.#lanes.has(topic)) this.#releases.delete(topic);
  }

  /** Holds `publish` and its lane after a refusal for a passing reason. */
  #hold(publish: LanePublish): void {
    const { withdraw, schedule } = this.#lanes.hold(publish);
    for (const later of withdraw) this.#options.sender.withdraw(later.entry.id);
    if (schedule) this.#scheduleRelease(publish.topic);
  }

  #scheduleRelease(topic: string): void {
    const { clock, retry, random } = this.#options;
    let state = this.#releases.get(topic);
    if (!state) {
      state = { schedule: createSchedule(retry, { random }), cancel: undefined };
      this.#releases.set(topic, state);
    }
    state.cancel = after(clock, state.schedule.next() ?? 0, () => this.#release(topic));
  }

  #stopReleases(): void {
    for (const state of this.#releases.values()) state.cancel?.();
    this.#releases.clear();
  }

  /** The application stops waiting: a publish the server may still answer stays in line. */
  #abandon(publish: LanePublish, error: LifelineError): void {
    const onWire = publish.stage === "wire" || publish.stage === "held";
    if (publish.stage === "queued") this.#options.sender.withdraw(publish.entry.id);
    this.#letGo(publish, onWire)?.reject(error);
  }

  #answer(publish: LanePublish, outcome: Outcome): void {
    const waiter = this.#letGo(publish, false);
    // A topic whose publish went through starts its next refusal's backoff from the start.
    if (outcome.ok) this.#releases.get(publish.topic)?.schedule.reset();
    if (!this.#lanes.has(publish.topic)) this.#releases.delete(publish.topic);
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
  }
}
