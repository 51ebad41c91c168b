import type { LifelineClient } from "@lifeline/client";
import { formatDuration, h } from "./dom.js";
import type { ObservatorySpec } from "./types.js";

export type CommandStatus = "queued" | "pending" | "ok" | "error" | "timeout";

export interface CommandLog {
  /**
   * Sends a command and shows it until it settles: `queued` while the connection is down
   * (the client holds it and sends it on reconnect), `pending` once it can be sent, then
   * `ok`, `error` or `timeout`.
   */
  run<T>(label: string, send: () => Promise<T>, describe?: (result: T) => string): Promise<void>;
  /** Commands not settled yet that wait for the connection. */
  queued(): number;
  /** Called whenever the number of queued commands changes. */
  onQueuedChange(listener: (queued: number) => void): void;
}

interface Entry {
  status: CommandStatus;
  readonly row: HTMLElement;
  readonly badge: HTMLElement;
  readonly detail: HTMLElement;
}

const MAX_ROWS = 12;

export function createCommandLog(
  host: HTMLElement,
  client: LifelineClient<ObservatorySpec>,
): CommandLog {
  const list = h("ol", { class: "commands", attrs: { "data-testid": "commands" } });
  host.replaceChildren(h("h2", { text: "Commands" }), list);
  const entries = new Set<Entry>();
  const listeners = new Set<(queued: number) => void>();
  const isOpen = (): boolean => {
    const state = client.connection.getSnapshot().state;
    return state === "open" || state === "degraded";
  };
  const countQueued = (): number => [...entries].filter((e) => e.status === "queued").length;
  const notify = (): void => {
    const n = countQueued();
    for (const listener of listeners) listener(n);
  };
  const setStatus = (entry: Entry, status: CommandStatus, detail?: string): void => {
    entry.status = status;
    entry.row.dataset.status = status;
    entry.badge.className = `badge badge-${status}`;
    entry.badge.textContent = status;
    if (detail !== undefined) entry.detail.textContent = detail;
    notify();
  };

  client.connection.subscribe(() => {
    if (!isOpen()) return;
    for (const entry of entries) if (entry.status === "queued") setStatus(entry, "pending");
  });

  return {
    async run(label, send, describe) {
      const badge = h("span", { class: "badge" });
      const detail = h("span", { class: "command-detail" });
      const row = h(
        "li",
        { class: "command", attrs: { "data-testid": "command" } },
        h("span", { class: "command-label", text: label }),
        badge,
        detail,
      );
      list.prepend(row);
      while (list.childElementCount > MAX_ROWS) list.lastElementChild?.remove();
      const entry: Entry = { status: "pending", row, badge, detail };
      entries.add(entry);
      setStatus(
        entry,
        isOpen() ? "pending" : "queued",
        isOpen() ? "" : "waiting for the connection",
      );
      const started = performance.now();
      try {
        const result = await send();
        const took = formatDuration(performance.now() - started);
        setStatus(entry, "ok", describe === undefined ? took : `${describe(result)} · ${took}`);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        const message = error instanceof Error ? error.message : String(error);
        setStatus(
          entry,
          code === "timeout" ? "timeout" : "error",
          typeof code === "string" ? `${code}: ${message}` : message,
        );
      } finally {
        entries.delete(entry);
        notify();
      }
    },
    queued: countQueued,
    onQueuedChange(listener) {
      listeners.add(listener);
    },
  };
}
