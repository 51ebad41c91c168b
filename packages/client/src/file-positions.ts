// Node only: imported by the Node entry, never by the browser entry (test/browser-bundle.test.ts).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { DEFAULT_MAX_TOPICS, PositionMap } from "./position-map.js";
import type { PositionStore } from "./positions.js";

/** Options of `filePositions()`. */
export interface FilePositionsOptions {
  /**
   * Most topics kept; beyond it the least recently saved topic is forgotten.
   * @default 256
   */
  readonly maxTopics?: number;
}

/**
 * A `PositionStore` in a JSON file, for a Node process that must resume where it stopped
 * after a restart. The file is read once, on the first `get` (a missing or corrupt file
 * counts as empty), and replaced whole on every `flush`: written beside it, then renamed
 * over it, so a crash mid-write leaves the previous positions rather than half a file.
 * Writes are synchronous so that the save `close()` makes is on disk before the process
 * exits. Two processes must not share one file: each would overwrite the other's topics.
 */
export function filePositions(path: string, options: FilePositionsOptions = {}): PositionStore {
  if (typeof path !== "string" || path === "") {
    throw new TypeError(`filePositions expects a file path, got ${JSON.stringify(path)}`);
  }
  const map = new PositionMap(options.maxTopics ?? DEFAULT_MAX_TOPICS);
  let loaded = false;
  const ensureLoaded = () => {
    if (loaded) return;
    loaded = true;
    let text: string | undefined;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    map.load(text);
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
    flush() {
      mkdirSync(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, map.serialize());
      renameSync(temporary, path);
    },
  };
}
