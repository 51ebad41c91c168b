import type { ResumePoint } from "@lifeline/protocol";
import { after, type Clock } from "../util/clock.js";

/**
 * Where a client keeps the last delivered position of each topic that subscribed with
 * `from: "stored"`, so a reloaded page or a restarted process resumes with `since`
 * (PROTOCOL.md, "Resuming from a stored position"). Built-in: `webStoragePositions()`
 * (browsers) and `filePositions()` (the Node entry); any object of this shape works
 * (IndexedDB, React Native's AsyncStorage, a database row).
 */
export interface PositionStore {
  /**
   * The position saved for `topic`, or `undefined`. May return a promise: the topic is
   * subscribed on the wire once it settles. A value that is not `{offset, epoch}` is
   * ignored (the topic starts as if nothing were stored), as is a throw or a rejection.
   */
  get(topic: string): ResumePoint | undefined | Promise<ResumePoint | undefined>;
  /**
   * Saves a topic's position. Called for each topic that moved, at most once per
   * `positionsSaveMs`, and when the client closes or the page is hidden or unloaded.
   * A throw or a rejection is logged and the next save tries again.
   */
  set(topic: string, position: ResumePoint): void | Promise<void>;
  /**
   * Called after each batch of `set` calls: a store that buffers writes them now. A
   * page being unloaded gives no time to await, so write synchronously where you can.
   * @default undefined (each `set` writes by itself)
   */
  flush?(): void | Promise<void>;
}

/** What the client does with a store: read once per topic, save moves in throttled batches. */
export interface PositionKeeper {
  /**
   * The stored position of `topic`, validated; `undefined` for none or garbage. A real
   * `Promise` (never another thenable) when the store answered asynchronously.
   */
  load(topic: string): ResumePoint | undefined | Promise<ResumePoint | undefined>;
  /** A subscription delivered up to `position` (or went live there): saved at the next batch. */
  moved(topic: string, position: ResumePoint): void;
  /** Saves every unsaved move now (close, page hidden or unloaded). */
  flush(): void;
}

/** A stored epoch is a protocol epoch: 1-64 characters (PROTOCOL.md, "subscribe"). */
export function isResumePoint(value: unknown): value is ResumePoint {
  if (typeof value !== "object" || value === null) return false;
  const { offset, epoch } = value as { offset?: unknown; epoch?: unknown };
  return (
    typeof offset === "number" &&
    Number.isSafeInteger(offset) &&
    offset >= 0 &&
    typeof epoch === "string" &&
    epoch.length >= 1 &&
    epoch.length <= 64
  );
}

/**
 * Saves positions in batches: the first move after a save arms one timer of `saveEveryMs`;
 * moves meanwhile only overwrite the pending entry of their topic, so a topic at 1,000
 * messages/s costs one `set` per interval, not one per message.
 */
export function createPositionKeeper(options: {
  readonly store: PositionStore;
  readonly clock: Clock;
  readonly saveEveryMs: number;
  readonly warn: (message: string, fields: Record<string, unknown>) => void;
}): PositionKeeper {
  const { store, clock, saveEveryMs, warn } = options;
  const pending = new Map<string, ResumePoint>();
  let cancelTimer: (() => void) | undefined;

  const failed = (what: string, topic: string | undefined) => (error: unknown) =>
    warn(`the positions store failed to ${what}`, { topic, error: String(error) });

  const settle = (result: void | Promise<void>, what: string, topic?: string) => {
    if (result && typeof (result as Promise<void>).then === "function") {
      (result as Promise<void>).then(undefined, failed(what, topic));
    }
  };

  const checked = (topic: string, value: unknown): ResumePoint | undefined => {
    if (value === undefined || value === null) return undefined;
    if (isResumePoint(value)) return { offset: value.offset, epoch: value.epoch };
    warn("ignored a stored position that is not {offset, epoch}", { topic });
    return undefined;
  };

  const flush = () => {
    cancelTimer?.();
    cancelTimer = undefined;
    if (pending.size === 0) return;
    const batch = [...pending];
    pending.clear();
    for (const [topic, position] of batch) {
      try {
        settle(store.set(topic, position), "save", topic);
      } catch (error) {
        failed("save", topic)(error);
      }
    }
    try {
      settle(store.flush?.(), "flush");
    } catch (error) {
      failed("flush", undefined)(error);
    }
  };

  return {
    load(topic) {
      // A move not saved yet is newer than anything the store holds.
      const unsaved = pending.get(topic);
      if (unsaved) return unsaved;
      let value: unknown;
      try {
        value = store.get(topic);
      } catch (error) {
        failed("read", topic)(error);
        return undefined;
      }
      if (value && typeof (value as Promise<unknown>).then === "function") {
        return Promise.resolve(value as PromiseLike<unknown>).then(
          (resolved) => checked(topic, resolved),
          (error: unknown) => {
            failed("read", topic)(error);
            return undefined;
          },
        );
      }
      return checked(topic, value);
    },
    moved(topic, position) {
      pending.set(topic, position);
      cancelTimer ??= after(clock, saveEveryMs, flush);
    },
    flush,
  };
}
