import { createSchedule, exponential, type Schedule } from "@lifeline/backoff";
import type { ClientMessage } from "@lifeline/protocol";
import {
  type Contract,
  type ErrorBody,
  INBOX_TOPIC,
  type ResumePoint,
  type SubscribedMessage,
  type TopicMessage,
} from "@lifeline/protocol";
import { ClientErrorCode, LifelineError } from "../errors.js";
import type { PositionKeeper } from "../positions/keeper.js";
import { after, type Clock } from "../util/clock.js";
import { describeGap } from "./gaps.js";
import type { Sender } from "./sender.js";
import {
  checkStart,
  type GapEvent,
  type MessageHandler,
  type MessageMeta,
  type SubscribeOptions,
} from "./subscribe-options.js";

/**
 * Refusals that describe a passing condition on the server (its broker unreachable, a rate
 * limit, a slow read): the subscription is kept and asked for again after a backoff delay.
 * Any other refusal (`forbidden`, `invalid_message`...) ends it.
 */
const RETRYABLE_REFUSALS: ReadonlySet<string> = new Set([
  "overloaded",
  "internal",
  "rate_limited",
  "timeout",
]);

/** Delays between retries of a refused subscribe: 0.5 s doubling to 15 s, jittered, no end. */
const SUBSCRIBE_RETRY = exponential({
  baseMs: 500,
  capMs: 15_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  jitter: "equal",
});

interface Listener {
  readonly handler: MessageHandler;
  readonly options: SubscribeOptions;
}

interface TopicState {
  readonly topic: string;
  /**
   * Replaced (never mutated) on add and remove, so delivery iterates it without copying
   * per message and a handler that unsubscribes mid-delivery does not disturb the loop.
   */
  listeners: readonly Listener[];
  /** The last offset delivered, or the head `subscribed` reported: the next `since`. */
  position: ResumePoint | undefined;
  /** Id of the `subscribe` awaiting its `subscribed` on the current connection. */
  pendingId: string | undefined;
  /** The `rewind` of the topic's first handler, sent until a position is known. */
  readonly rewind: number | undefined;
  /** The resume point that `subscribe` carried. */
  sentSince: ResumePoint | undefined;
  /** The `subscribe` in flight carried `rewind`, so messages before its answer are replay. */
  sentRewind: boolean;
  /** The latest `subscribe` asked for presence diffs. */
  sentPresence: boolean;
  /** Replayed messages held until `subscribed` says whether there is a gap. */
  buffer: TopicMessage[];
  /** Delays of retries after retryable refusals; made at the first refusal. */
  retries: Schedule | undefined;
  /** Cancels the retry waiting to be sent, if any. */
  cancelRetry: (() => void) | undefined;
  /** Subscribed with `from: "stored"`: its moves are saved. */
  readonly stored: boolean;
  /** The stored position is being read (an async store): not subscribed on the wire yet. */
  loading: boolean;
}

export interface SubscriptionEvents {
  readonly onGap: (gap: GapEvent) => void;
  readonly onError: (error: LifelineError) => void;
  readonly onDelivered: (message: TopicMessage) => void;
  readonly onDuplicate: (message: TopicMessage) => void;
  /** The topic's subscription went live on this connection (its `subscribed` arrived). */
  readonly onSubscribed: (topic: string) => void;
}

export interface SubscriptionRegistry {
  readonly topics: readonly string[];
  add(topic: string, handler: MessageHandler, options: SubscribeOptions): () => void;
  /** A connection opened: (re)subscribe every topic, with `since` where a position is known. */
  resubscribeAll(): void;
  /** The connection dropped: replies to the old `subscribe`s will never come. */
  connectionLost(): void;
  handleMessage(message: TopicMessage): void;
  handleSubscribed(message: SubscribedMessage): void;
  /** A failed `response` or an `error` with this id; false when it was not a subscribe. */
  handleFailure(id: string, error: ErrorBody): boolean;
  /**
   * The server dropped the subscription (credentials refreshed without access to it,
   * PROTOCOL.md "Credentials in band"): it ends as a final refusal would, with `error`.
   */
  revoke(topic: string, error: ErrorBody): void;
  position(topic: string): ResumePoint | undefined;
}

interface SubscriptionRegistryOptions {
  readonly sender: Sender;
  readonly clock: Clock;
  readonly contract: Contract | undefined;
  readonly validateIncoming: boolean;
  readonly events: SubscriptionEvents;
  /** Whether a topic's `subscribe` asks for presence diffs. */
  readonly wantsPresence: (topic: string) => boolean;
  /** The features of the server's latest `hello`. */
  readonly serverFeatures: () => readonly string[];
  /** The `positions` store, when the client has one. */
  readonly positions?: PositionKeeper | undefined;
}

export function createSubscriptionRegistry(
  options: SubscriptionRegistryOptions,
): SubscriptionRegistry {
  return new Subscriptions(options);
}

/**
 * Topic subscriptions that survive reconnects: each topic is subscribed once on the wire
 * however many handlers it has, resumes with `since` after every reconnect, never delivers
 * an offset twice, and reports a gap when the server cannot replay everything.
 */
class Subscriptions implements SubscriptionRegistry {
  readonly #byTopic = new Map<string, TopicState>();
  readonly #byPendingId = new Map<string, TopicState>();

  readonly #options: SubscriptionRegistryOptions;

  constructor(options: SubscriptionRegistryOptions) {
    this.#options = options;
  }

  get topics(): readonly string[] {
    return [...this.#byTopic.keys()];
  }

  add(topic: string, handler: MessageHandler, subscribeOptions: SubscribeOptions): () => void {
    checkStart(subscribeOptions);
    const stored = subscribeOptions.from === "stored";
    if (stored && !this.#options.positions) {
      throw new TypeError(
        `subscribe to "${topic}" asks for from: "stored", but the client has no "positions" store`,
      );
    }
    const listener: Listener = { handler, options: subscribeOptions };
    let state = this.#byTopic.get(topic);
    if (!state) {
      state = newTopicState(topic, listener, stored);
      this.#byTopic.set(topic, state);
      if (stored && !subscribeOptions.since) this.#startFromStore(state);
      this.#sendSubscribe(state);
    } else {
      state.listeners = [...state.listeners, listener];
      // Subscribed without diffs so far: subscribe again (from where it stands) with them.
      if (subscribeOptions.presence && !state.sentPresence) this.#sendSubscribe(state);
    }
    const owner = state;
    return () => this.#remove(owner, listener);
  }

  resubscribeAll(): void {
    for (const state of this.#byTopic.values()) this.#sendSubscribe(state);
  }

  connectionLost(): void {
    this.#byPendingId.clear();
    for (const state of this.#byTopic.values()) {
      state.pendingId = undefined;
      state.sentSince = undefined;
      state.sentRewind = false;
      // Never delivered, so the position did not move: the next `since` replays them.
      state.buffer = [];
    }
  }

  handleMessage(message: TopicMessage): void {
    const state = this.#byTopic.get(message.topic);
    if (!state) return;
    if (state.pendingId) {
      state.buffer.push(message);
      return;
    }
    this.#deliver(state, message);
  }

  handleSubscribed(message: SubscribedMessage): void {
    const state = this.#byPendingId.get(message.id);
    if (!state || this.#byTopic.get(state.topic) !== state) return;
    this.#byPendingId.delete(message.id);
    state.pendingId = undefined;
    state.retries?.reset();
    const since = state.sentSince;
    // Without `since` or `rewind` the server replays nothing: whatever arrived before this
    // answer belonged to an earlier subscription of the topic (an unsubscribe in flight).
    const buffered = since || state.sentRewind ? state.buffer : [];
    state.buffer = [];
    if (since && !message.recovered) {
      const gap = describeGap(state.topic, since, message, buffered);
      this.#emitGap(state, gap);
      // Continue from the gap's far side, so the replay is not flagged a second time.
      if (since.epoch !== message.epoch) state.position = undefined;
      else if (gap.lost) state.position = { offset: gap.lost.toOffset, epoch: since.epoch };
    }
    for (const replayed of buffered) this.#deliver(state, replayed);
    const at = state.position;
    if (!at || at.epoch !== message.epoch || at.offset < message.offset) {
      state.position = { offset: message.offset, epoch: message.epoch };
      if (state.stored) this.#options.positions?.moved(state.topic, state.position);
    }
    this.#options.events.onSubscribed(state.topic);
  }

  handleFailure(id: string, error: ErrorBody): boolean {
    const state = this.#byPendingId.get(id);
    if (!state) return false;
    this.#byPendingId.delete(id);
    state.pendingId = undefined;
    if (RETRYABLE_REFUSALS.has(error.code) && this.#byTopic.get(state.topic) === state) {
      this.#retryLater(state, error);
      return true;
    }
    this.#end(
      state,
      new LifelineError(error.code, `subscribe to "${state.topic}" refused: ${error.message}`),
    );
    return true;
  }

  revoke(topic: string, error: ErrorBody): void {
    const state = this.#byTopic.get(topic);
    if (!state) return;
    state.cancelRetry?.();
    if (state.pendingId) this.#byPendingId.delete(state.pendingId);
    this.#end(
      state,
      new LifelineError(error.code, `subscription to "${topic}" dropped: ${error.message}`),
    );
  }

  position(topic: string): ResumePoint | undefined {
    return this.#byTopic.get(topic)?.position;
  }

  #remove(owner: TopicState, listener: Listener): void {
    if (!owner.listeners.includes(listener)) return;
    owner.listeners = owner.listeners.filter((l) => l !== listener);
    if (owner.listeners.length > 0) return;
    const { topic } = owner;
    if (this.#byTopic.get(topic) !== owner) return;
    this.#byTopic.delete(topic);
    owner.cancelRetry?.();
    if (owner.pendingId) this.#byPendingId.delete(owner.pendingId);
    // Still reading its stored position: never subscribed on the wire.
    if (owner.loading) return;
    const { sender } = this.#options;
    sender.sendIfOpen("unsubscribe", { type: "unsubscribe", id: sender.nextId("u"), topic });
  }

  #sendSubscribe(state: TopicState): void {
    if (state.loading) return;
    state.cancelRetry?.();
    state.cancelRetry = undefined;
    const { sender } = this.#options;
    const id = sender.nextId("s");
    const since = state.position;
    const rewind = since ? undefined : state.rewind;
    const presence = this.#options.wantsPresence(state.topic);
    const message: ClientMessage = {
      type: "subscribe",
      id,
      topic: state.topic,
      ...(since ? { since } : {}),
      ...(rewind !== undefined ? { rewind } : {}),
      ...(presence ? { presence: true } : {}),
      // Conflated delivery is welcome wherever the server offers it: a skip it makes is
      // marked on the message, so it is never mistaken for a loss.
      ...(this.#options.serverFeatures().includes("conflation") ? { conflate: true } : {}),
    };
    if (!sender.sendIfOpen("subscribe", message)) return;
    if (state.pendingId) this.#byPendingId.delete(state.pendingId);
    state.pendingId = id;
    state.sentSince = since;
    state.sentRewind = rewind !== undefined;
    state.sentPresence = presence;
    state.buffer = [];
    this.#byPendingId.set(id, state);
  }

  /** Keeps a subscription refused for a passing reason: asked for again after a delay (or at the next reconnect, whichever is first). */
  #retryLater(state: TopicState, error: ErrorBody): void {
    state.retries ??= createSchedule(SUBSCRIBE_RETRY);
    const delayMs = state.retries.next() ?? 0;
    state.cancelRetry = after(this.#options.clock, delayMs, () => {
      state.cancelRetry = undefined;
      if (this.#byTopic.get(state.topic) === state && !state.pendingId) this.#sendSubscribe(state);
    });
    const text = `subscribe to "${state.topic}" refused for now (${error.message}); retrying in ${delayMs} ms`;
    this.#options.events.onError(new LifelineError(error.code, text));
  }

  /** Ends a subscription for good and tells the application why. */
  #end(state: TopicState, failure: LifelineError): void {
    if (this.#byTopic.get(state.topic) === state) this.#byTopic.delete(state.topic);
    this.#options.events.onError(failure);
    for (const listener of state.listeners) listener.options.onError?.(failure);
  }

  #emitGap(state: TopicState, gap: GapEvent): void {
    this.#options.events.onGap(gap);
    for (const listener of state.listeners) listener.options.onGap?.(gap);
  }

  #deliver(state: TopicState, message: TopicMessage): void {
    if (!this.#advance(state, message)) return;
    if (!this.#matchesContract(message)) return;
    this.#options.events.onDelivered(message);
    // Two plain literals rather than a conditional spread: a spread copies through the
    // runtime on every message (and allocates the empty object), where a literal is one
    // inline allocation of a fixed shape. `conflated` is only present when true
    // (PROTOCOL.md, "message").
    const meta: MessageMeta = message.conflated
      ? {
          topic: message.topic,
          offset: message.offset,
          epoch: message.epoch,
          ts: message.ts,
          conflated: true,
        }
      : { topic: message.topic, offset: message.offset, epoch: message.epoch, ts: message.ts };
    for (const listener of state.listeners) {
      try {
        listener.handler(message.data, meta);
      } catch (error) {
        this.#options.events.onError(
          new LifelineError("handler_failed", `a handler of "${message.topic}" threw`, {
            cause: error,
          }),
        );
      }
    }
  }

  /** Moves the topic's position to `message`; false for a duplicate. Reports any gap. */
  #advance(state: TopicState, message: TopicMessage): boolean {
    const at = state.position;
    // Compared once: both are strings fresh from JSON.parse, so equality reads their content.
    const sameEpoch = at !== undefined && message.epoch === at.epoch;
    if (sameEpoch && message.offset <= at.offset) {
      this.#options.events.onDuplicate(message);
      return false;
    }
    if (sameEpoch && message.offset > at.offset + 1 && message.conflated !== true) {
      this.#emitGap(state, {
        topic: state.topic,
        reason: "offsets_skipped",
        since: at,
        resumedAt: { offset: message.offset, epoch: message.epoch },
        lost: { epoch: at.epoch, fromOffset: at.offset + 1, toOffset: message.offset - 1 },
      });
    } else if (at && !sameEpoch) {
      this.#emitGap(state, {
        topic: state.topic,
        reason: "epoch_changed",
        since: at,
        resumedAt: { offset: message.offset, epoch: message.epoch },
      });
    }
    state.position = { offset: message.offset, epoch: message.epoch };
    if (state.stored) this.#options.positions?.moved(state.topic, state.position);
    return true;
  }

  /** The inbox is checked against the contract's `direct` schema (a no-op without one). */
  #matchesContract(message: TopicMessage): boolean {
    const { contract, validateIncoming } = this.#options;
    if (
      !validateIncoming ||
      contract === undefined ||
      !(message.topic === INBOX_TOPIC || contract.hasTopic(message.topic))
    ) {
      return true;
    }
    const check = contract.checkTopicData(message.topic, message.data);
    if (check.ok) return true;
    this.#options.events.onError(
      new LifelineError(
        ClientErrorCode.InvalidMessage,
        `message ${message.offset} of "${message.topic}" does not match the contract: ${check.issue.message}`,
      ),
    );
    return false;
  }

  /** Takes the stored position as `since`; an async store holds the subscribe until it answers. */
  #startFromStore(state: TopicState): void {
    const loaded = this.#options.positions?.load(state.topic);
    if (!(loaded instanceof Promise)) {
      state.position = loaded;
      return;
    }
    state.loading = true;
    void loaded.then((position) => {
      if (this.#byTopic.get(state.topic) !== state) return;
      state.loading = false;
      state.position = position;
      this.#sendSubscribe(state);
    });
  }
}

function newTopicState(topic: string, listener: Listener, stored: boolean): TopicState {
  const { since, rewind } = listener.options;
  return {
    topic,
    listeners: [listener],
    // A given `since` is where the client stands: replayed offsets up to it are duplicates.
    position: since,
    pendingId: undefined,
    rewind,
    sentSince: undefined,
    sentRewind: false,
    sentPresence: false,
    buffer: [],
    retries: undefined,
    cancelRetry: undefined,
    stored,
    loading: false,
  };
}
