/** The part of the Web Storage API the client uses (`localStorage`, `sessionStorage`). */
export interface StorageLike {
  /** The stored value of `key`, or null. */
  getItem(key: string): string | null;
  /** Stores `value` under `key`. */
  setItem(key: string, value: string): void;
}

/** The page's `localStorage` or `sessionStorage`, or `undefined` where reading it throws or there is none. */
export function globalStorage(name: "localStorage" | "sessionStorage"): StorageLike | undefined {
  try {
    return (globalThis as Record<string, unknown>)[name] as StorageLike | undefined;
  } catch {
    return undefined;
  }
}
