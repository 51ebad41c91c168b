import { randomId } from "../util/random-id.js";
import type { StorageLike } from "./storage.js";

const CLAIM_KEY = "lifeline.tab_claim";

/** The events a page sends when it is unloaded or put in, and back from, the back/forward cache. */
export interface PageEventTarget {
  addEventListener(type: "pagehide" | "pageshow", listener: (event: PageEvent) => void): void;
}
interface PageEvent {
  /** `pageshow`: the page came back from the back/forward cache. */
  readonly persisted?: boolean;
}

function globalPage(): PageEventTarget | undefined {
  const page = (globalThis as { window?: Partial<PageEventTarget> }).window;
  return typeof page?.addEventListener === "function" ? (page as PageEventTarget) : undefined;
}

/** Random per page load: a duplicated tab runs its scripts afresh, so it never has its original's. */
const thisPage = randomId(12);
const watched = new WeakSet<StorageLike>();

/**
 * Claims the tab id in `perTab` (`sessionStorage`) for this page, and says whether another
 * live page holds it. Browsers copy `sessionStorage` into a duplicated tab (and into a
 * window opened with `window.open`), tab id included, and two live tabs with one client
 * id replace each other's session (4409). So a page writes its own token beside the tab
 * id and clears it on `pagehide`: a reload finds no token (the old page cleared it on
 * the way out), a duplicate finds its original's, still live, and must take a new id.
 * A tab restored after a crash also finds a token; it takes a new id too, which costs
 * only its stored positions.
 */
export function claimTab(
  perTab: StorageLike,
  page: PageEventTarget | undefined = globalPage(),
  token: string = thisPage,
): boolean {
  let holder: string | null;
  try {
    holder = perTab.getItem(CLAIM_KEY);
    perTab.setItem(CLAIM_KEY, token);
  } catch {
    // Storage that throws keeps no tab id either (client-id.ts falls back to a random one).
    return false;
  }
  if (page && !watched.has(perTab)) {
    watched.add(perTab);
    page.addEventListener("pagehide", () => {
      try {
        if (perTab.getItem(CLAIM_KEY) === token) perTab.setItem(CLAIM_KEY, "");
      } catch {}
    });
    page.addEventListener("pageshow", (event) => {
      try {
        if (event.persisted) perTab.setItem(CLAIM_KEY, token);
      } catch {}
    });
  }
  return holder !== null && holder !== "" && holder !== token;
}
