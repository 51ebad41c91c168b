import { isReservedTopic, type ResumePoint } from "@lifeline/protocol";
import type { Broker, LogEntry } from "./broker.js";
import {
  ConflatedDelivery,
  type ConflatedPosition,
  type ConflatedTarget,
  type ConflationHooks,
  type ConflationSettings,
} from "./conflated-delivery.js";
import type { Connection } from "./connection.js";
import { type PreparedMessage, prepareEntry } from "./transport/index.js";

/**
 * Where a subscription starts: after `since` when given, else from the last `rewind`
 * retained entries, else at the head (PROTOCOL.md, "Start positions").
 */
export interface StartPosition {
  readonly since?: ResumePoint | undefined;
  readonly rewind?: number | undefined;
  /**
   * The client accepts conflated delivery (`conflate: true` on its subscribe); it gets it
   * on topics that `ConflationSettings.isConflated` names.
   */
  readonly conflate?: boolean | undefined;
}

/** The answer to a `subscribe`, sent as `subscribed`. */
export interface SubscribeOutcome {
  readonly offset: number;
  readonly epoch: string;
  readonly recovered: boolean;
  readonly replayed: number;
}

/** `pending` holds the live entries that arrive while history is being read. */
interface Subscription extends ConflatedPosition {
  /**
   * The name the client knows the topic by, when it is not the broker's: a connection's
   * `@inbox` is its own inbox topic (PROTOCOL.md, "Direct messages").
   */
  readonly alias: string | undefined;
  /** Conflated delivery: the topic is conflated and the client asked for it. */
  readonly conflated: boolean;
}

interface TopicState {
  readonly name: string;
  readonly subscribers: Map<Connection, Subscription>;
  /** The broker subscription, shared by every local subscriber of the topic. */
  readonly live: Promise<() => Promise<void>>;
  /** `onActive` was called: set once the first subscriber is live, so `onIdle` pairs with it. */
  announced: boolean;
}

export interface TopicHooks extends ConflationHooks {
  /**
   * The topic gained its first local subscriber. Called once that subscriber is live (after
   * its `subscribed`), so a message published from this hook reaches it.
   */
  readonly onActive: (topic: string) => void;
  /** The topic lost its last local subscriber. */
  readonly onIdle: (topic: string) => void;
  /**
   * Called once per broadcast with its fan-out time, recipient count and the payload bytes
   * sent to them all (each in its wire's encoding).
   */
  readonly onBroadcast: (seconds: number, recipients: number, bytes: number) => void;
  /** A delivery to one subscriber threw; the others still get the message. */
  readonly onDeliveryError: (connection: Connection, error: unknown) => void;
  /** An entry could not be encoded (a BigInt, a cycle): nobody gets it. */
  readonly onEncodeError: (entry: LogEntry, error: unknown) => void;
}

/**
 * Local subscriptions over the broker: one broker subscription per topic with local
 * subscribers, fan-out of each entry serialised once, replay of history on `since`, and
 * the guarantee that a subscription never delivers an offset twice (PROTOCOL.md,
 * "Delivery and recovery").
 */
export class Topics {
  private readonly topics = new Map<string, TopicState>();
  private readonly conflated: ConflatedDelivery;

  constructor(
    private readonly broker: Broker,
    private readonly hooks: TopicHooks,
    conflation: ConflationSettings,
  ) {
    this.conflated = new ConflatedDelivery(broker, conflation, hooks);
  }

  get activeCount(): number {
    return this.topics.size;
  }

  get subscriptionCount(): number {
    let count = 0;
    for (const topic of this.topics.values()) count += topic.subscribers.size;
    return count;
  }

  /** Topic names with at least one local subscriber. */
  names(): string[] {
    return [...this.topics.keys()];
  }

  /**
   * Subscribes `connection`. Replays retained entries after `start.since`, or the last
   * `start.rewind` of them (sent before this resolves), then the caller sends `subscribed`,
   * then live entries follow. With `alias`, messages name the topic so instead.
   */
  async subscribe(
    connection: Connection,
    topic: string,
    start: StartPosition,
    sendSubscribed: (outcome: SubscribeOutcome) => void,
    alias?: string,
  ): Promise<void> {
    const state = this.topicFor(topic);
    const subscription: Subscription = {
      alias,
      pending: [],
      lastOffset: 0,
      epoch: undefined,
      conflated: start.conflate === true && this.conflated.serves(topic),
      stopWaiting: undefined,
    };
    state.subscribers.set(connection, subscription);
    connection.addSubscription(topic);
    try {
      await state.live;
      let outcome: SubscribeOutcome;
      const { since, rewind } = start;
      if (since) {
        const read = await this.broker.readSince(topic, since.offset, since.epoch);
        if (state.subscribers.get(connection) !== subscription) return;
        subscription.epoch = read.epoch;
        if (read.epoch === since.epoch && !read.complete && subscription.conflated) {
          // The history lost, the latest value of every key changed since is what it held.
          subscription.lastOffset = since.offset;
          const target = this.target(state, connection, subscription);
          outcome = await this.conflated.replay(target, { after: since.offset });
          if (state.subscribers.get(connection) !== subscription) return;
        } else if (read.epoch === since.epoch) {
          subscription.lastOffset = since.offset;
          let replayed = 0;
          for (const entry of read.entries) {
            if (entry.offset <= subscription.lastOffset) continue;
            connection.sendPrepared(prepareFor(subscription, entry), "message");
            subscription.lastOffset = entry.offset;
            replayed += 1;
          }
          outcome = {
            offset: Math.max(read.head, subscription.lastOffset),
            epoch: read.epoch,
            recovered: read.complete,
            replayed,
          };
        } else {
          // Another epoch's offsets mean nothing here: no replay, the client resynchronises.
          subscription.lastOffset = read.head;
          outcome = { offset: read.head, epoch: read.epoch, recovered: false, replayed: 0 };
        }
      } else if (rewind !== undefined && subscription.conflated) {
        const target = this.target(state, connection, subscription);
        outcome = await this.conflated.replay(target, { limit: rewind });
        if (state.subscribers.get(connection) !== subscription) return;
      } else if (rewind !== undefined) {
        outcome = await this.rewind(connection, state, subscription, rewind);
        if (state.subscribers.get(connection) !== subscription) return;
      } else {
        const head = await this.broker.head(topic);
        if (state.subscribers.get(connection) !== subscription) return;
        subscription.epoch = head.epoch;
        subscription.lastOffset = head.offset;
        // Nothing was asked for, so nothing is missing.
        outcome = { offset: head.offset, epoch: head.epoch, recovered: true, replayed: 0 };
      }
      sendSubscribed(outcome);
      this.flushPending(state, connection, subscription);
      // Inboxes are the server's own business: producers watching topics never see them.
      if (!state.announced && this.topics.get(topic) === state && !isReservedTopic(topic)) {
        state.announced = true;
        this.hooks.onActive(topic);
      }
    } catch (error) {
      this.unsubscribe(connection, topic);
      throw error;
    }
  }

  /**
   * Replays the last `count` retained entries. Two reads, as the broker interface has no
   * "last N": the head, then the entries after `head - count`. Entries appended between
   * the two are replayed too (they are newer than the head, so live delivery would have
   * sent them anyway); the subscription's position keeps every offset once.
   */
  private async rewind(
    connection: Connection,
    state: TopicState,
    subscription: Subscription,
    count: number,
  ): Promise<SubscribeOutcome> {
    const head = await this.broker.head(state.name);
    if (state.subscribers.get(connection) !== subscription) {
      return { offset: head.offset, epoch: head.epoch, recovered: true, replayed: 0 };
    }
    const from = Math.max(0, head.offset - count);
    const read = await this.broker.readSince(state.name, from, head.epoch);
    if (state.subscribers.get(connection) !== subscription) {
      return { offset: read.head, epoch: read.epoch, recovered: true, replayed: 0 };
    }
    // History lost between the two reads: the new epoch's last `count` entries stand in.
    const entries = read.epoch === head.epoch ? read.entries : read.entries.slice(-count);
    subscription.epoch = read.epoch;
    subscription.lastOffset = 0;
    let replayed = 0;
    for (const entry of entries) {
      if (entry.offset <= subscription.lastOffset) continue;
      connection.sendPrepared(prepareFor(subscription, entry), "message");
      subscription.lastOffset = entry.offset;
      replayed += 1;
    }
    subscription.lastOffset = Math.max(read.head, subscription.lastOffset);
    // A rewind asks for "up to N": fewer retained is not a loss, so it is always recovered.
    return { offset: subscription.lastOffset, epoch: read.epoch, recovered: true, replayed };
  }

  /** The conflated side of a subscription, for `ConflatedDelivery`. */
  private target(
    state: TopicState,
    connection: Connection,
    subscription: Subscription,
  ): ConflatedTarget {
    return {
      topic: state.name,
      connection,
      position: subscription,
      isCurrent: () => state.subscribers.get(connection) === subscription,
      flushPending: () => this.flushPending(state, connection, subscription),
    };
  }

  /**
   * Delivers the live entries held while the subscription was being read, each once. A
   * conflated subscription that falls behind on the way stops there: what is left is in
   * the latest-per-key table, which its catch-up reads.
   */
  private flushPending(state: TopicState, connection: Connection, subscription: Subscription) {
    const buffered = subscription.pending ?? [];
    subscription.pending = undefined;
    for (const entry of buffered) {
      if (entry.epoch === subscription.epoch && entry.offset <= subscription.lastOffset) continue;
      if (subscription.conflated && this.conflated.isBehind(connection)) {
        this.conflated.fallBehind(this.target(state, connection, subscription));
        return;
      }
      if (this.isNew(subscription, entry)) {
        connection.sendPrepared(prepareFor(subscription, entry), "message");
      }
    }
  }

  /** Removes the subscription; false when there was none. */
  unsubscribe(connection: Connection, topic: string): boolean {
    const state = this.topics.get(topic);
    connection.removeSubscription(topic);
    const subscription = state?.subscribers.get(connection);
    if (!state || !subscription) return false;
    subscription.stopWaiting?.();
    subscription.stopWaiting = undefined;
    state.subscribers.delete(connection);
    if (state.subscribers.size === 0) this.retire(state);
    return true;
  }

  /** Drops every subscription of a closed connection. */
  removeConnection(connection: Connection): void {
    for (const topic of [...connection.subscriptions]) this.unsubscribe(connection, topic);
  }

  /** Stops every broker subscription (server shutdown). */
  async close(): Promise<void> {
    const states = [...this.topics.values()];
    this.topics.clear();
    await Promise.allSettled(states.map((state) => state.live.then((stop) => stop())));
  }

  private topicFor(topic: string): TopicState {
    const existing = this.topics.get(topic);
    if (existing) return existing;
    const subscribers = new Map<Connection, Subscription>();
    const live = this.broker.subscribe(topic, (entry) => this.fanOut(state, entry));
    const state: TopicState = { name: topic, subscribers, live, announced: false };
    // A failed broker subscription is reported to each subscribe() awaiting it.
    live.catch(() => {
      if (this.topics.get(topic) === state) this.topics.delete(topic);
    });
    this.topics.set(topic, state);
    return state;
  }

  private retire(state: TopicState): void {
    if (this.topics.get(state.name) === state) this.topics.delete(state.name);
    state.live.then(
      (stop) => stop().catch(() => {}),
      () => {},
    );
    if (state.announced) this.hooks.onIdle(state.name);
  }

  private fanOut(state: TopicState, entry: LogEntry): void {
    if (state.subscribers.size === 0) return;
    const started = performance.now();
    let prepared: PreparedMessage | undefined;
    let recipients = 0;
    let bytes = 0;
    for (const [connection, subscription] of state.subscribers) {
      if (subscription.pending) {
        subscription.pending.push(entry);
        continue;
      }
      if (subscription.conflated) {
        // Behind: this entry is in the latest-per-key table, where its catch-up reads it.
        if (subscription.stopWaiting) continue;
        if (this.conflated.isBehind(connection)) {
          this.conflated.fallBehind(this.target(state, connection, subscription));
          continue;
        }
      }
      if (!this.isNew(subscription, entry)) continue;
      if (subscription.alias !== undefined) {
        if (this.deliverAliased(connection, subscription, entry)) recipients += 1;
        continue;
      }
      // Encoded lazily, once per wire in use, by the first recipient on each wire.
      prepared ??= prepareEntry(entry);
      try {
        const sent = connection.deliver(prepared);
        if (sent >= 0) {
          recipients += 1;
          bytes += sent;
        }
      } catch (error) {
        if (prepared.failure !== undefined) {
          // The message itself cannot be encoded: no recipient can get it.
          this.hooks.onEncodeError(entry, prepared.failure);
          return;
        }
        this.hooks.onDeliveryError(connection, error);
      }
    }
    if (prepared) {
      this.hooks.onBroadcast((performance.now() - started) / 1000, recipients, bytes);
    }
  }

  /** An inbox has one subscriber: its message is prepared for it alone. */
  private deliverAliased(
    connection: Connection,
    subscription: Subscription,
    entry: LogEntry,
  ): boolean {
    try {
      return connection.sendPrepared(prepareFor(subscription, entry), "message");
    } catch (error) {
      this.hooks.onDeliveryError(connection, error);
      return false;
    }
  }

  /** Advances the subscription past `entry`; false when it was delivered already. */
  private isNew(subscription: Subscription, entry: LogEntry): boolean {
    if (entry.epoch === subscription.epoch && entry.offset <= subscription.lastOffset) {
      return false;
    }
    subscription.epoch = entry.epoch;
    subscription.lastOffset = entry.offset;
    return true;
  }
}

function prepareFor(subscription: Subscription, entry: LogEntry): PreparedMessage {
  return prepareEntry(
    subscription.alias === undefined ? entry : { ...entry, topic: subscription.alias },
  );
}
