import type { ResumePoint } from "@lifeline/protocol";
import type { LifelineError } from "../errors.js";
import type { PresenceEvent } from "./presence.js";

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

/** A bad start position is the caller's bug: thrown at once rather than refused later. */
export function checkStart(options: SubscribeOptions): void {
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
