import { h } from "./dom.js";
import { createTickCounter, type TickCounter } from "./tick-counter.js";

export interface TicksPanel {
  readonly counter: TickCounter;
  /** A tick arrived. */
  observe(n: number): void;
  /** The client reported lost history for `demo/ticks` (a new epoch). */
  historyLost(): void;
}

/** `demo/ticks` as a delivery check: gaps and duplicates must both stay 0. */
export function mountTicksPanel(host: HTMLElement): TicksPanel {
  const counter = createTickCounter();
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
      text: 'n rises by one per tick. Stop and restart the server: the client resumes from its last offset, so gaps and duplicates stay 0. "History lost" counts restarts of an in-memory server (new epoch): the client says so instead of hiding it.',
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
