import type { ClientMessage, HistoryDirection, HistoryPage, ResumePoint } from "@lifeline/protocol";
import { ClientErrorCode, LifelineError } from "../errors.js";
import type { RequestOptions, RequestTracker } from "./requests.js";

/** Options of `history()`: which page, and the wait like a request's. */
export interface HistoryOptions extends RequestOptions {
  /**
   * Where the page starts, exclusive: forward pages hold offsets after it, backward pages
   * offsets before it. Pass a page's `next` to get the page after it. A `since` of an
   * epoch the topic no longer has gives an empty page under the new `epoch`.
   * @default undefined (forward: the oldest retained message; backward: the head)
   */
  readonly since?: ResumePoint | undefined;
  /**
   * Most messages in the page: an integer from 1 to the server's page limit (100 by
   * default; a larger one is refused `invalid_message`). A page may hold fewer.
   */
  readonly limit: number;
  /**
   * `"backward"`: newest first, from the head (or below `since`), for "the last N";
   * `"forward"`: oldest first, after `since` (or from the oldest retained).
   * @default "backward"
   */
  readonly direction?: HistoryDirection;
}

/** One retained message, with where it sits in its topic's log. */
export interface HistoryItem<T = unknown> {
  /** The topic it belongs to. */
  readonly topic: string;
  /** The message's data, as published. */
  readonly data: T;
  /** Its offset in the topic's log. */
  readonly offset: number;
  /** The epoch of that offset. */
  readonly epoch: string;
  /** Milliseconds since the Unix epoch when the server appended it. */
  readonly ts: number;
}

/** A page of a topic's retained messages (PROTOCOL.md, "History"). */
export interface HistoryResult<T = unknown> {
  /** The topic read. */
  readonly topic: string;
  /** The topic's epoch; every message of the page belongs to it. */
  readonly epoch: string;
  /** The topic's latest offset when the page was read. */
  readonly head: number;
  /** In the page's direction: ascending offsets forward, descending backward. */
  readonly messages: readonly HistoryItem<T>[];
  /** The `since` of the next page in the same direction; absent on the last page. */
  readonly next?: ResumePoint;
}

/**
 * Reads one page without subscribing. Sent like a request (outbox while disconnected,
 * timeout, abort); bad options are the caller's bug and reject with a `RangeError`.
 */
export function readHistory(
  requests: RequestTracker,
  topic: string,
  options: HistoryOptions,
): Promise<HistoryResult> {
  const { since, limit } = options;
  const direction = options.direction ?? "backward";
  if (!(Number.isSafeInteger(limit) && limit >= 1)) {
    return Promise.reject(
      new RangeError(`history expects "limit" to be an integer >= 1, got ${String(limit)}`),
    );
  }
  if (direction !== "forward" && direction !== "backward") {
    return Promise.reject(
      new RangeError(
        `history expects "direction" to be "forward" or "backward", got ${JSON.stringify(direction)}`,
      ),
    );
  }
  if (
    since !== undefined &&
    !(Number.isSafeInteger(since.offset) && since.offset >= 0 && typeof since.epoch === "string")
  ) {
    return Promise.reject(
      new RangeError(
        `history expects "since" to be {offset: integer >= 0, epoch: string}, got ${JSON.stringify(since)}`,
      ),
    );
  }
  const label = `history of "${topic}"`;
  const message = (id: string): ClientMessage => ({
    type: "history",
    id,
    topic,
    ...(since ? { since: { offset: since.offset, epoch: since.epoch } } : {}),
    limit,
    direction,
  });
  return requests.call(label, message, options).then((result) => toResult(label, result));
}

function toResult(label: string, result: unknown): HistoryResult {
  const page = result as Partial<HistoryPage> | null;
  if (
    typeof page !== "object" ||
    page === null ||
    typeof page.topic !== "string" ||
    typeof page.epoch !== "string" ||
    !Array.isArray(page.messages)
  ) {
    throw new LifelineError(
      ClientErrorCode.InvalidMessage,
      `${label}: expected a page {topic, epoch, head, messages}, got ${JSON.stringify(result)?.slice(0, 200)}`,
    );
  }
  const { topic, epoch } = page;
  const messages = page.messages.map((m) => ({
    topic,
    data: m.data,
    offset: m.offset,
    epoch,
    ts: m.ts,
  }));
  const head = page.head ?? 0;
  return page.next
    ? { topic, epoch, head, messages, next: page.next }
    : { topic, epoch, head, messages };
}
