import type {
  GapEvent,
  LifelineClient,
  LifelineError,
  MessageMeta,
  SubscribeOptions,
} from "@lifeline/client";
import { createHold, type Hold } from "./hold.js";

/** One delivered topic message: its payload and where it sits in the topic's log. */
export interface Delivered<T = unknown> {
  /** The message's data, as published. */
  readonly data: T;
  /** Where it sits in the topic's log: topic, offset, epoch and append time. */
  readonly meta: MessageMeta;
}

/** What the provider holds for one topic; replaced, never mutated, on every change. */
export interface FeedSnapshot<T = unknown> {
  /** The latest messages, oldest first, as many as the topic's most demanding hook keeps. */
  readonly messages: readonly Delivered<T>[];
  /** The latest gap: messages the client could not deliver (`GapEvent.lost` says which). */
  readonly gap: GapEvent | undefined;
  /** Gaps since the provider subscribed to the topic. */
  readonly gaps: number;
  /** Why the server refused the subscription; the client then stopped asking for it. */
  readonly error: LifelineError | undefined;
}

/** The snapshot of a topic nobody subscribed to yet, and of every topic on the server. */
export const EMPTY_FEED: FeedSnapshot<never> = Object.freeze({
  messages: Object.freeze([]) as readonly never[],
  gap: undefined,
  gaps: 0,
  error: undefined,
});

/** The start options a feed passes to `client.subscribe()`, from its first member. */
export type StartOptions = Pick<SubscribeOptions, "since" | "rewind">;

/** One hook's interest in a topic. */
export interface FeedMember {
  /** How many of the latest messages this member shows. */
  readonly keep: number;
  readonly start: StartOptions;
  /** The snapshot changed. */
  onChange(): void;
  onGap(gap: GapEvent): void;
}

/**
 * One client subscription per topic for every hook of a provider, however many mount and
 * unmount, including strict mode's double mount: the client is subscribed while at least
 * one hook wants the topic, and its messages are kept here, bounded, so a hook that
 * mounts later starts from what the provider already has.
 */
export interface TopicFeeds {
  snapshot(topic: string): FeedSnapshot;
  /** Adds a member to the topic's feed (subscribing on the first); returns its removal. */
  join(topic: string, member: FeedMember): () => void;
}

interface Feed {
  readonly members: Set<FeedMember>;
  /** Passed to `client.subscribe()` when the hold starts: the first member's. */
  start: StartOptions;
  snapshot: FeedSnapshot;
  /** The largest `keep` of the members. */
  keep: number;
  readonly hold: Hold;
}

export function createTopicFeeds(client: LifelineClient): TopicFeeds {
  const feeds = new Map<string, Feed>();

  const update = (feed: Feed, next: FeedSnapshot) => {
    feed.snapshot = next;
    for (const member of [...feed.members]) member.onChange();
  };

  const open = (topic: string): Feed => {
    let unsubscribe: (() => void) | undefined;
    const feed: Feed = {
      members: new Set(),
      start: {},
      snapshot: EMPTY_FEED,
      keep: 1,
      hold: createHold(
        () => {
          unsubscribe = client.subscribe(
            topic,
            (data, meta) => {
              const messages = appendBounded(feed.snapshot.messages, { data, meta }, feed.keep);
              update(feed, { ...feed.snapshot, messages });
            },
            {
              ...feed.start,
              onGap(gap) {
                update(feed, { ...feed.snapshot, gap, gaps: feed.snapshot.gaps + 1 });
                for (const member of [...feed.members]) member.onGap(gap);
              },
              onError(error) {
                update(feed, { ...feed.snapshot, error });
              },
            },
          );
        },
        () => {
          unsubscribe?.();
          if (feeds.get(topic) === feed) feeds.delete(topic);
        },
      ),
    };
    feeds.set(topic, feed);
    return feed;
  };

  return {
    snapshot: (topic) => feeds.get(topic)?.snapshot ?? EMPTY_FEED,
    join(topic, member) {
      const feed = feeds.get(topic) ?? open(topic);
      feed.members.add(member);
      feed.keep = Math.max(feed.keep, member.keep);
      // Like the client's own handlers of one topic, the member that starts it chooses.
      if (!feed.hold.active) feed.start = member.start;
      const release = feed.hold.take();
      return () => {
        if (!feed.members.delete(member)) return;
        feed.keep = Math.max(1, ...[...feed.members].map((m) => m.keep));
        release();
      };
    },
  };
}

/** `list` with `item` appended, keeping the last `max` entries (a new array). */
function appendBounded<T>(list: readonly T[], item: T, max: number): T[] {
  const next = list.slice(Math.max(0, list.length + 1 - max));
  next.push(item);
  return next;
}
