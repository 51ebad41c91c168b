import { h } from "./dom.js";
import { createTickCounter, type TickCounter, type TickCounts } from "./tick-counter.js";

export interface TicksPanel {
  readonly counter: TickCounter;
  /** A tick arrived. */
  observe(n: number): void;
  /** The client reported lost history for `demo/ticks` (a new epoch). */
  historyLost(): void;
}

/** Where the panel keeps its counts over a reload of the tab. */
export interface SavedCounts {
  readonly storage: Pick<Storage, "getItem" | "setItem">;
  /** Named after the client id: a duplicated tab, which gets a new id, counts afresh. */
  readonly key: string;
}

function restore(saved: SavedCounts): TickCounts | undefined {
  try {
    const counts = JSON.parse(saved.storage.getItem(saved.key) ?? "null") as TickCounts | null;
    return typeof counts?.received === "number" ? counts : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `demo/ticks` as a delivery check: gaps and duplicates must both stay 0, across a reload
 * too. The page saves its counts on `pagehide`, when the client saves its positions: the
 * next page continues both from the same tick.
 */
export function mountTicksPanel(host: HTMLElement, saved: SavedCounts): TicksPanel {
  const counter = createTickCounter(restore(saved));
  addEventListener("pagehide", () => {
    try {
      saved.storage.setItem(saved.key, JSON.stringify(counter.counts()));
    } catch {}
  });
  const cell = (id: string): HTMLElement => h("dd", { text: "0", attrs: { "data-testid": id } });
  const received = cell("ticks-received");
  const last = cell("ticks-last");
  const gaps = cell("ticks-gaps");
  const duplicates = cell("ticks-duplicates");
  const resets = cell("ticks-resets");
  host.replaceChildren(
    h("h2", { text: "Ticks (demo/ticks, 10 Hz)" }),
    h(
      "dl",
      { class: "values ticks" },
      h("dt", { text: "Received" }),
      received,
      h("dt", { text: "Last n" }),
      last,
      h("dt", { text: "Gaps" }),
      gaps,
      h("dt", { text: "Duplicates" }),
      duplicates,
      h("dt", { text: "History lost" }),
      resets,
    ),
    h("p", {
      class: "muted small",
      text: 'n rises by one per tick. Stop and restart the server, or reload the page: the client resumes from its last offset (kept in sessionStorage over a reload), so gaps and duplicates stay 0. "History lost" counts restarts of an in-memory server (new epoch): the client says so instead of hiding it.',
    }),
  );

  // Drawing at most once per frame keeps 10 Hz cheap even in a background tab.
  let scheduled = false;
  const render = (): void => {
    scheduled = false;
    const counts = counter.counts();
    received.textContent = String(counts.received);
    last.textContent = counts.last === undefined ? "—" : String(counts.last);
    gaps.textContent = String(counts.gaps);
    duplicates.textContent = String(counts.duplicates);
    resets.textContent = String(counts.resets);
    gaps.classList.toggle("bad", counts.gaps > 0);
    duplicates.classList.toggle("bad", counts.duplicates > 0);
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(render);
  };
  render();
  return {
    counter,
    observe(n) {
      counter.observe(n);
      schedule();
    },
    historyLost() {
      counter.reset();
      schedule();
    },
  };
}
