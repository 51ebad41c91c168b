import { ClientIdPattern } from "@lifeline/protocol";
import { randomId } from "../util/random-id.js";
import { globalStorage, type StorageLike } from "./storage.js";
import { claimTab } from "./tab-claim.js";

const DEVICE_KEY = "lifeline.device_id";
const TAB_KEY = "lifeline.tab_id";
const clientIdPattern = new RegExp(ClientIdPattern);

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
 * because two tabs sharing one client_id would keep replacing each other's session (4409);
 * a duplicated tab, which starts with a copy of its original's `sessionStorage`, is told
 * apart by a claim the live page keeps there, and takes a new tab part.
 * Without storage (Node, workers) both parts are random for this client instance.
 */
export function stableClientId(sources: ClientIdSources = defaultSources()): string {
  const device = readOrCreate(sources.persistent, DEVICE_KEY);
  const perTab = sources.perTab;
  // A duplicated tab inherits the tab id with sessionStorage: it takes a new one (tab-claim.ts).
  if (perTab && claimTab(perTab)) writeFresh(perTab, TAB_KEY);
  return `${device}.${readOrCreate(perTab, TAB_KEY)}`;
}

function writeFresh(storage: StorageLike, key: string): void {
  try {
    storage.setItem(key, randomId());
  } catch {}
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
