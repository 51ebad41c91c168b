import { createSchedule, exponential, type Schedule } from "@lifeline/backoff";
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
import type { PresenceEvent } from "./presence.js";
import type { Sender } from "./sender.js";

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

/** Where a delivered message sits in its topic's log. */
export interface MessageMeta {
  /** The topic the message belongs to. */
  readonly topic: string;
  /** Its offset in the topic's log. */
  readonly offset: number;
  /** The epoch of that offset. */
  readonly epoch: string;
  /** Milliseconds since the Unix epoch when the server appended it. */
  readonly ts: number;
  /**
   * True when the server sent this message as the latest of its key on a conflated topic
   * (PROTOCOL.md, "Conflation"): earlier messages of that key, and the offsets skipped
   * before this one, were superseded rather than lost. Absent otherwise.
   */
  readonly conflated?: true;
}

/** Receives each message of a subscription: its data, and where it is in the topic's log. */
export type MessageHandler<T = unknown> = (data: T, meta: MessageMeta) => void;

/**
 * Why messages may be missing:
 * - `history_expired`: the server no longer retains everything after the resume point;
 * - `epoch_changed`: the topic's history was lost (a restarted in-memory broker), offsets restarted;
 * - `offsets_skipped`: a live message skipped offsets without being marked conflated (should
 *   not happen with a correct server).
 */
export type GapReason = "history_expired" | "epoch_changed" | "offsets_skipped";

/** Emitted when a subscription could not resume without loss: the application should resynchronise. */
export interface GapEvent {
  /** The topic that lost messages. */
  readonly topic: string;
  /** Why they were lost. */
  readonly reason: GapReason;
  /** Where the client stood (the last offset it delivered). */
  readonly since: ResumePoint;
  /** Where delivery resumed. */
  readonly resumedAt: ResumePoint;
  /** The offsets that were not delivered (inclusive), when they are known. */
  readonly lost?: {
    readonly epoch: string;
    readonly fromOffset: number;
    readonly toOffset: number;
  };
}

/** Per-subscription options of `subscribe()`. */
export interface SubscribeOptions {
  /**
   * Where to start: deliver every retained message after this position (one the
   * application kept, such as a `MessageMeta` it saw), then live ones. When history no
   * longer reaches back to it, `gap` reports what was lost. Wins over `rewind`.
   * Only the topic's first handler chooses: a handler added while the topic is already
   * subscribed joins the live stream (PROTOCOL.md, "Start positions").
   * @default undefined (start at the head, or with `rewind`)
   */
  readonly since?: ResumePoint;
  /**
   * Start with up to this many of the latest retained messages, then live ones: `1` is
   * "the latest value", so a view has its state at once instead of at the next publish.
   * An integer from 1 to the server's history limit (1000 by default); the server refuses
   * a larger one (`invalid_message`, reported like any refused subscription). Fewer
   * retained is not a gap. Needs a server that announces the `rewind` feature; only the
   * topic's first handler chooses, as for `since`. After a reconnect the subscription
   * resumes from its position, so nothing is delivered twice.
   * @default undefined (start at the head)
   */
  readonly rewind?: number;
  /**
   * Keep the topic's members (PROTOCOL.md, "Presence"): the subscription asks for presence
   * diffs and `onPresence` gets the members after each change, across reconnects, with no
   * leave and join for a client that came back within the server's grace period. Needs a
   * server that announces the `presence` feature and keeps presence for the topic.
   * @default false
   */
  readonly presence?: boolean;
  /**
   * With `presence: true`: called with the members once they are known, then after each
   * join or leave (batched as the server sends them).
   * @default undefined
   */
  readonly onPresence?: (event: PresenceEvent) => void;
  /**
   * `"stored"`: start from the position the client's `positions` store saved for this
   * topic (an earlier page or process delivered up to it), resumed like `since`, with a
   * `gap` when history no longer reaches back to it; with nothing stored, start like
   * `"head"`. The topic's position is saved as it moves, so the next start resumes from
   * here. Throws without a `positions` store. `"head"`: start at the head, or with
   * `rewind`, and save nothing. `since` wins over both. Use `"stored"` where missing a
   * message matters and the view can take what it missed (a log, a counter, a chat); a
   * status view that rebuilds its state on load wants `rewind: 1` instead (PROTOCOL.md,
   * "Resuming from a stored position").
   * @default "head"
   */
  readonly from?: "stored" | "head";
  /**
   * Called, besides the client's `gap` event, when this topic could not resume without loss.
   * @default undefined
   */
  readonly onGap?: (gap: GapEvent) => void;
  /**
   * Called, besides the client's `error` event, when the server refuses the subscription
   * (`forbidden`, ...); it is then dropped and not resubscribed.
   * @default undefined
   */
  readonly onError?: (error: LifelineError) => void;
}

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

/**
 * Topic subscriptions that survive reconnects: each topic is subscribed once on the wire
 * however many handlers it has, resumes with `since` after every reconnect, never delivers
 * an offset twice, and reports a gap when the server cannot replay everything.
 */
export function createSubscriptionRegistry(options: {
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
}): SubscriptionRegistry {
  const { sender, events, contract, clock, positions } = options;
  const topics = new Map<string, TopicState>();
  const byPendingId = new Map<string, TopicState>();

  const sendSubscribe = (state: TopicState) => {
    if (state.loading) return;
    state.cancelRetry?.();
    state.cancelRetry = undefined;
    const id = sender.nextId("s");
    const since = state.position;
    const rewind = since ? undefined : state.rewind;
    const presence = options.wantsPresence(state.topic);
    const frame = JSON.stringify({
      type: "subscribe",
      id,
      topic: state.topic,
      ...(since ? { since } : {}),
      ...(rewind !== undefined ? { rewind } : {}),
      ...(presence ? { presence: true } : {}),
      // Conflated delivery is welcome wherever the server offers it: a skip it makes is
      // marked on the message, so it is never mistaken for a loss.
      ...(options.serverFeatures().includes("conflation") ? { conflate: true } : {}),
    });
    if (!sender.sendIfOpen("subscribe", frame)) return;
    if (state.pendingId) byPendingId.delete(state.pendingId);
    state.pendingId = id;
    state.sentSince = since;
    state.sentRewind = rewind !== undefined;
    state.sentPresence = presence;
    state.buffer = [];
    byPendingId.set(id, state);
  };

  /** Ends a subscription for good and tells the application why. */
  const end = (state: TopicState, failure: LifelineError) => {
    if (topics.get(state.topic) === state) topics.delete(state.topic);
    events.onError(failure);
    for (const listener of state.listeners) listener.options.onError?.(failure);
  };

  const emitGap = (state: TopicState, gap: GapEvent) => {
    events.onGap(gap);
    for (const listener of state.listeners) listener.options.onGap?.(gap);
  };

  const deliver = (state: TopicState, message: TopicMessage) => {
    const at = state.position;
    // Compared once: both are strings fresh from JSON.parse, so equality reads their content.
    const sameEpoch = at !== undefined && message.epoch === at.epoch;
    if (sameEpoch && message.offset <= at.offset) {
      events.onDuplicate(message);
      return;
    }
    if (sameEpoch && message.offset > at.offset + 1 && message.conflated !== true) {
      emitGap(state, {
        topic: state.topic,
        reason: "offsets_skipped",
        since: at,
        resumedAt: { offset: message.offset, epoch: message.epoch },
        lost: { epoch: at.epoch, fromOffset: at.offset + 1, toOffset: message.offset - 1 },
      });
    } else if (at && !sameEpoch) {
      emitGap(state, {
        topic: state.topic,
        reason: "epoch_changed",
        since: at,
        resumedAt: { offset: message.offset, epoch: message.epoch },
      });
    }
    state.position = { offset: message.offset, epoch: message.epoch };
    if (state.stored) positions?.moved(state.topic, state.position);
    // The inbox is checked against the contract's `direct` schema (a no-op without one).
    if (
      options.validateIncoming &&
      contract !== undefined &&
      (message.topic === INBOX_TOPIC || contract.hasTopic(message.topic))
    ) {
      const check = contract.checkTopicData(message.topic, message.data);
      if (!check.ok) {
        events.onError(
          new LifelineError(
            ClientErrorCode.InvalidMessage,
            `message ${message.offset} of "${message.topic}" does not match the contract: ${check.issue.message}`,
          ),
        );
        return;
      }
    }
    events.onDelivered(message);
    const meta: MessageMeta = {
      topic: message.topic,
      offset: message.offset,
      epoch: message.epoch,
      ts: message.ts,
      ...(message.conflated ? { conflated: true } : {}),
    };
    for (const listener of state.listeners) {
      try {
        listener.handler(message.data, meta);
      } catch (error) {
        events.onError(
          new LifelineError("handler_failed", `a handler of "${message.topic}" threw`, {
            cause: error,
          }),
        );
      }
    }
  };

  /** The gap a `recovered: false` answer implies, given the first replayed message. */
  const describeGap = (
    state: TopicState,
    since: ResumePoint,
    answer: SubscribedMessage,
    buffered: readonly TopicMessage[],
  ): GapEvent => {
    const resumedAt = { offset: answer.offset, epoch: answer.epoch };
    const firstReplayed = buffered.find((m) => m.epoch === answer.epoch)?.offset;
    const base = { topic: state.topic, since, resumedAt };
    if (since.epoch !== answer.epoch) {
      // The old epoch's tail is unknowable; of the new epoch, what came before the replay is lost.
      const toOffset = (firstReplayed ?? answer.offset + 1) - 1;
      return toOffset >= 1
        ? {
            ...base,
            reason: "epoch_changed",
            lost: { epoch: answer.epoch, fromOffset: 1, toOffset },
          }
        : { ...base, reason: "epoch_changed" };
    }
    const fromOffset = since.offset + 1;
    const toOffset = (firstReplayed ?? answer.offset + 1) - 1;
    return toOffset >= fromOffset
      ? { ...base, reason: "history_expired", lost: { epoch: since.epoch, fromOffset, toOffset } }
      : { ...base, reason: "history_expired" };
  };

  /** Takes the stored position as `since`; an async store holds the subscribe until it answers. */
  const startFromStore = (state: TopicState) => {
    const loaded = positions?.load(state.topic);
    if (!(loaded instanceof Promise)) {
      state.position = loaded;
      return;
    }
    state.loading = true;
    void loaded.then((position) => {
      if (topics.get(state.topic) !== state) return;
      state.loading = false;
      state.position = position;
      sendSubscribe(state);
    });
  };

  return {
    get topics() {
      return [...topics.keys()];
    },
    add(topic, handler, subscribeOptions) {
      checkStart(subscribeOptions);
      const stored = subscribeOptions.from === "stored";
      if (stored && !positions) {
        throw new TypeError(
          `subscribe to "${topic}" asks for from: "stored", but the client has no "positions" store`,
        );
      }
      const listener: Listener = { handler, options: subscribeOptions };
      let state = topics.get(topic);
      if (!state) {
        state = {
          topic,
          listeners: [listener],
          // A given `since` is where the client stands: replayed offsets up to it are duplicates.
          position: subscribeOptions.since,
          pendingId: undefined,
          rewind: subscribeOptions.rewind,
          sentSince: undefined,
          sentRewind: false,
          sentPresence: false,
          buffer: [],
          retries: undefined,
          cancelRetry: undefined,
          stored,
          loading: false,
        };
        topics.set(topic, state);
        if (stored && !subscribeOptions.since) startFromStore(state);
        sendSubscribe(state);
      } else {
        state.listeners = [...state.listeners, listener];
        // Subscribed without diffs so far: subscribe again (from where it stands) with them.
        if (subscribeOptions.presence && !state.sentPresence) sendSubscribe(state);
      }
      const owner = state;
      return () => {
        if (!owner.listeners.includes(listener)) return;
        owner.listeners = owner.listeners.filter((l) => l !== listener);
        if (owner.listeners.length > 0) return;
        if (topics.get(topic) !== owner) return;
        topics.delete(topic);
        owner.cancelRetry?.();
        if (owner.pendingId) byPendingId.delete(owner.pendingId);
        // Still reading its stored position: never subscribed on the wire.
        if (owner.loading) return;
        sender.sendIfOpen(
          "unsubscribe",
          JSON.stringify({ type: "unsubscribe", id: sender.nextId("u"), topic }),
        );
      };
    },
    resubscribeAll() {
      for (const state of topics.values()) sendSubscribe(state);
    },
    connectionLost() {
      byPendingId.clear();
      for (const state of topics.values()) {
        state.pendingId = undefined;
        state.sentSince = undefined;
        state.sentRewind = false;
        // Never delivered, so the position did not move: the next `since` replays them.
        state.buffer = [];
      }
    },
    handleMessage(message) {
      const state = topics.get(message.topic);
      if (!state) return;
      if (state.pendingId) {
        state.buffer.push(message);
        return;
      }
      deliver(state, message);
    },
    handleSubscribed(message) {
      const state = byPendingId.get(message.id);
      if (!state || topics.get(state.topic) !== state) return;
      byPendingId.delete(message.id);
      state.pendingId = undefined;
      state.retries?.reset();
      const since = state.sentSince;
      // Without `since` or `rewind` the server replays nothing: whatever arrived before this
      // answer belonged to an earlier subscription of the topic (an unsubscribe in flight).
      const buffered = since || state.sentRewind ? state.buffer : [];
      state.buffer = [];
      if (since && !message.recovered) {
        const gap = describeGap(state, since, message, buffered);
        emitGap(state, gap);
        // Continue from the gap's far side, so the replay is not flagged a second time.
        if (since.epoch !== message.epoch) state.position = undefined;
        else if (gap.lost) state.position = { offset: gap.lost.toOffset, epoch: since.epoch };
      }
      for (const replayed of buffered) deliver(state, replayed);
      const at = state.position;
      if (!at || at.epoch !== message.epoch || at.offset < message.offset) {
        state.position = { offset: message.offset, epoch: message.epoch };
        if (state.stored) positions?.moved(state.topic, state.position);
      }
      events.onSubscribed(state.topic);
    },
    handleFailure(id, error) {
      const state = byPendingId.get(id);
      if (!state) return false;
      byPendingId.delete(id);
      state.pendingId = undefined;
      if (RETRYABLE_REFUSALS.has(error.code) && topics.get(state.topic) === state) {
        // Kept: asked for again after a delay (or at the next reconnect, whichever is first).
        state.retries ??= createSchedule(SUBSCRIBE_RETRY);
        const delayMs = state.retries.next() ?? 0;
        state.cancelRetry = after(clock, delayMs, () => {
          state.cancelRetry = undefined;
          if (topics.get(state.topic) === state && !state.pendingId) sendSubscribe(state);
        });
        const text = `subscribe to "${state.topic}" refused for now (${error.message}); retrying in ${delayMs} ms`;
        events.onError(new LifelineError(error.code, text));
        return true;
      }
      end(
        state,
        new LifelineError(error.code, `subscribe to "${state.topic}" refused: ${error.message}`),
      );
      return true;
    },
    revoke(topic, error) {
      const state = topics.get(topic);
      if (!state) return;
      state.cancelRetry?.();
      if (state.pendingId) byPendingId.delete(state.pendingId);
      end(
        state,
        new LifelineError(error.code, `subscription to "${topic}" dropped: ${error.message}`),
      );
    },
    position(topic) {
      return topics.get(topic)?.position;
    },
  };
}

/** A bad start position is the caller's bug: thrown at once rather than refused later. */
function checkStart(options: SubscribeOptions): void {
  const { rewind, since, from } = options;
  if (from !== undefined && from !== "stored" && from !== "head") {
    throw new RangeError(
      `subscribe expects "from" to be "stored" or "head", got ${JSON.stringify(from)}`,
    );
  }
  if (rewind !== undefined && !(Number.isSafeInteger(rewind) && rewind >= 1)) {
    throw new RangeError(`subscribe expects "rewind" to be an integer >= 1, got ${rewind}`);
  }
  if (
    since !== undefined &&
    !(Number.isSafeInteger(since.offset) && since.offset >= 0 && typeof since.epoch === "string")
  ) {
    throw new RangeError(
      `subscribe expects "since" to be {offset: integer >= 0, epoch: string}, got ${JSON.stringify(since)}`,
    );
  }
}
