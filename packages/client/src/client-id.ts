import { ClientIdPattern } from "@lifeline/protocol";

/** The part of the Web Storage API the client uses (`localStorage`, `sessionStorage`). */
export interface StorageLike {
  /** The stored value of `key`, or null. */
  getItem(key: string): string | null;
  /** Stores `value` under `key`. */
  setItem(key: string, value: string): void;
}

const DEVICE_KEY = "lifeline.device_id";
const TAB_KEY = "lifeline.tab_id";
const clientIdPattern = new RegExp(ClientIdPattern);

/** Random URL-safe token from the platform CSPRNG (Web Crypto, global in browsers and Node 20). */
export function randomId(bytes = 9): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-";
  let out = "";
  for (const byte of buffer) out += alphabet[byte & 63];
  return out;
}

function readOrCreate(storage: StorageLike | undefined, key: string): string {
  try {
    const stored = storage?.getItem(key);
    if (stored && /^[A-Za-z0-9_-]{1,40}$/.test(stored)) return stored;
    const fresh = randomId();
    storage?.setItem(key, fresh);
    return fresh;
  } catch {
    // Storage can throw (Safari private mode, sandboxed iframes, quota): fall back to memory.
    return randomId();
  }
}

function globalStorage(name: "localStorage" | "sessionStorage"): StorageLike | undefined {
  try {
    return (globalThis as Record<string, unknown>)[name] as StorageLike | undefined;
  } catch {
    return undefined;
  }
}

/** Where a default client id is kept: across sessions, or across reloads of one tab. */
export interface ClientIdSources {
  /** Persists across sessions; `localStorage` in browsers. */
  readonly persistent?: StorageLike | undefined;
  /** Persists across reloads of one tab; `sessionStorage` in browsers. */
  readonly perTab?: StorageLike | undefined;
}

/**
 * A stable client id: `<device>.<tab>`. The device part lives in `localStorage`, so the
 * server sees the same browser across sessions; the tab part lives in `sessionStorage`,
 * because two tabs sharing one client_id would keep replacing each other's session (4409).
 * Without storage (Node, workers) both parts are random for this client instance.
 */
export function stableClientId(sources: ClientIdSources = defaultSources()): string {
  return `${readOrCreate(sources.persistent, DEVICE_KEY)}.${readOrCreate(sources.perTab, TAB_KEY)}`;
}

function defaultSources(): ClientIdSources {
  return { persistent: globalStorage("localStorage"), perTab: globalStorage("sessionStorage") };
}

/** Throws a readable error for an id the server would refuse with 4400. */
export function assertClientId(id: string): string {
  if (!clientIdPattern.test(id)) {
    throw new TypeError(
      `createClient expects "clientId" to match ${ClientIdPattern}, got ${JSON.stringify(id.slice(0, 40))}`,
    );
  }
  return id;
}
