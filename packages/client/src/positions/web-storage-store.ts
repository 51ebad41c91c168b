import { globalStorage, type StorageLike } from "../session/storage.js";
import type { PositionStore } from "./keeper.js";
import { serializedPositions } from "./position-map.js";

/** Options of `webStoragePositions()`. */
export interface WebStoragePositionsOptions {
  /**
   * The Web Storage to write to. `sessionStorage` survives a reload of the tab and dies
   * with it; `localStorage` outlives the tab (pair it with a `clientId` of your own, since
   * the default client id is new in every tab).
   * @default globalThis.sessionStorage
   */
  readonly storage?: StorageLike;
  /**
   * The storage key; one client's positions are one JSON value under it.
   * @default "lifeline.positions"
   */
  readonly key?: string;
  /**
   * Most topics kept; beyond it the least recently saved topic is forgotten.
   * @default 256
   */
  readonly maxTopics?: number;
}

/**
 * A `PositionStore` in the browser's Web Storage. It reads the key once, on the first
 * `get`, and writes it whole on `flush` (synchronously, so a save at `pagehide` lands
 * before the page goes). A storage that throws (private mode, quota) leaves positions in
 * memory: the page then starts at the head after a reload, as without a store.
 */
export function webStoragePositions(options: WebStoragePositionsOptions = {}): PositionStore {
  const storage = options.storage ?? globalStorage("sessionStorage");
  const key = options.key ?? "lifeline.positions";
  return serializedPositions(
    options.maxTopics,
    () => storage?.getItem(key),
    (text) => storage?.setItem(key, text),
  );
}
