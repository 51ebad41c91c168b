import type { ResumePoint } from "@lifeline/protocol";
import { isResumePoint, type PositionStore } from "./keeper.js";

/**
 * Positions by topic as the built-in stores keep them: one JSON object, most recently
 * saved topic last, at most `maxTopics` (the least recently saved ones are dropped, so a
 * client that walks through many topics cannot grow its storage without bound).
 */
export class PositionMap {
  private readonly topics = new Map<string, ResumePoint>();

  constructor(private readonly maxTopics: number) {
    if (!(Number.isSafeInteger(maxTopics) && maxTopics >= 1)) {
      throw new RangeError(`positions expects "maxTopics" to be an integer >= 1, got ${maxTopics}`);
    }
  }

  /** Reads what `serialize` wrote; anything else (corrupt, another program's) counts as empty. */
  load(text: string | null | undefined): void {
    this.topics.clear();
    if (!text) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof parsed !== "object" || parsed === null) return;
    const topics = (parsed as { topics?: unknown }).topics;
    if (typeof topics !== "object" || topics === null) return;
    for (const [topic, position] of Object.entries(topics)) {
      if (isResumePoint(position)) this.set(topic, position);
    }
  }

  get(topic: string): ResumePoint | undefined {
    return this.topics.get(topic);
  }

  set(topic: string, position: ResumePoint): void {
    this.topics.delete(topic);
    this.topics.set(topic, { offset: position.offset, epoch: position.epoch });
    if (this.topics.size > this.maxTopics) {
      const oldest = this.topics.keys().next().value;
      if (oldest !== undefined) this.topics.delete(oldest);
    }
  }

  serialize(): string {
    return JSON.stringify({ v: 1, topics: Object.fromEntries(this.topics) });
  }
}

/** Most topics a built-in store keeps. */
export const DEFAULT_MAX_TOPICS = 256;

/**
 * A `PositionStore` kept as one serialized `PositionMap`: `read` once, at the first `get`
 * or `set`, and `write` the whole map on `flush`. The built-in stores differ only in where
 * the text lives.
 */
export function serializedPositions(
  maxTopics: number | undefined,
  read: () => string | null | undefined,
  write: (text: string) => void,
): PositionStore {
  const map = new PositionMap(maxTopics ?? DEFAULT_MAX_TOPICS);
  let loaded = false;
  const ensureLoaded = () => {
    if (loaded) return;
    loaded = true;
    map.load(read());
  };
  return {
    get(topic) {
      ensureLoaded();
      return map.get(topic);
    },
    set(topic, position) {
      ensureLoaded();
      map.set(topic, position);
    },
    flush: () => write(map.serialize()),
  };
}
