// Node only: imported by the Node entry, never by the browser entry (test/browser-bundle.test.ts).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { PositionStore } from "./keeper.js";
import { serializedPositions } from "./position-map.js";

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
  return serializedPositions(
    options.maxTopics,
    () => readIfThere(path),
    (text) => {
      mkdirSync(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, text);
      renameSync(temporary, path);
    },
  );
}

/** The file's text, or `undefined` when there is no file yet. */
function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
