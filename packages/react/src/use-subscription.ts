import type { ClientTopic, GapEvent, LifelineError, MessageMeta } from "@lifeline/client";
import type { ContractSpec, ResumePoint, TopicData } from "@lifeline/protocol";
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import { useLifelineContext } from "./context.js";
import {
  type Delivered,
  EMPTY_FEED,
  type FeedMember,
  type FeedSnapshot,
  type StartOptions,
} from "./topic-feeds.js";

/** The most messages one `useSubscription` may keep. */
export const MAX_KEEP = 10_000;

/** Options of `useSubscription()`. */
export interface UseSubscriptionOptions {
  /**
   * How many of the latest messages `messages` holds (the rest are dropped as new ones
   * arrive): 1 for "the current value", more for a feed or a chart. An integer from 1 to
   * 10000.
   * @default 1
   */
  readonly keep?: number;
  /**
   * Start after this position (one the application kept), replaying what the server still
   * retains; `gap` reports what it no longer does. As with `client.subscribe()`, only the
   * first hook of a topic in the provider chooses where the topic starts; the others share
   * what it delivers. Read when the subscription starts.
   * @default undefined (start at the head, or with `rewind`)
   */
  readonly since?: ResumePoint;
  /**
   * Start with up to this many of the latest retained messages, so the view has a value at
   * once: `rewind: 1` with the default `keep` shows the topic's current value. The first
   * hook of a topic chooses, as for `since`.
   * @default undefined (start at the head: the first value is the next publish)
   */
  readonly rewind?: number;
  /**
   * Called once per gap while this hook is mounted, besides `gap` in the result: the
   * moment to reload the state the messages were building.
   * @default undefined
   */
  readonly onGap?: (gap: GapEvent) => void;
}

/** What `useSubscription()` returns. */
export interface SubscriptionResult<T> {
  /** The latest message's payload; `undefined` until one arrives. */
  readonly data: T | undefined;
  /** Where the latest message sits in the topic's log (`offset`, `epoch`, `ts`). */
  readonly meta: MessageMeta | undefined;
  /** The latest `keep` messages, oldest first. */
  readonly messages: readonly Delivered<T>[];
  /** The latest gap: messages the client could not deliver after a reconnect. */
  readonly gap: GapEvent | undefined;
  /** Gaps since the provider subscribed to the topic. */
  readonly gaps: number;
  /** The server refused the subscription (`forbidden`, ...): the client stopped asking. */
  readonly error: LifelineError | undefined;
}

const serverSnapshot = () => EMPTY_FEED;

/**
 * The live messages of `topic`, shared with every other hook of the provider on the same
 * topic (one subscription on the wire), resumed without loss or duplicate across
 * reconnects. `null` or `undefined` subscribes to nothing (for a topic not known yet).
 * Empty during server rendering, where nothing subscribes.
 */
export function useSubscription<
  S extends ContractSpec = ContractSpec,
  T extends ClientTopic<S> = ClientTopic<S>,
>(
  topic: T | null | undefined,
  options: UseSubscriptionOptions = {},
): SubscriptionResult<TopicData<S, T>> {
  const { feeds } = useLifelineContext("useSubscription");
  const keep = options.keep ?? 1;
  if (!(Number.isInteger(keep) && keep >= 1 && keep <= MAX_KEEP)) {
    throw new RangeError(`useSubscription expects "keep" to be an integer from 1 to ${MAX_KEEP}`);
  }
  // The latest options for callbacks and for the start of a later subscription.
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });

  const subscribe = useCallback(
    (onChange: () => void) => {
      if (topic == null) return () => {};
      const member: FeedMember = {
        keep,
        start: startOptions(latest.current),
        onChange,
        onGap: (gap) => latest.current.onGap?.(gap),
      };
      return feeds.join(topic, member);
    },
    [feeds, topic, keep],
  );
  const getSnapshot = useCallback(
    () => (topic == null ? EMPTY_FEED : feeds.snapshot(topic)),
    [feeds, topic],
  );
  const feed = useSyncExternalStore(subscribe, getSnapshot, serverSnapshot);
  return useMemo(() => view(feed as FeedSnapshot<TopicData<S, T>>, keep), [feed, keep]);
}

function startOptions(options: UseSubscriptionOptions): StartOptions {
  return {
    ...(options.since !== undefined ? { since: options.since } : {}),
    ...(options.rewind !== undefined ? { rewind: options.rewind } : {}),
  };
}

function view<T>(feed: FeedSnapshot<T>, keep: number): SubscriptionResult<T> {
  const messages = feed.messages.length > keep ? feed.messages.slice(-keep) : feed.messages;
  const last = messages.at(-1);
  return {
    data: last?.data,
    meta: last?.meta,
    messages,
    gap: feed.gap,
    gaps: feed.gaps,
    error: feed.error,
  };
}
