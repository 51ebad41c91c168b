import type { LifelineClient } from "@lifeline/client";
import { h } from "./dom.js";
import type { ToastKind, Toasts } from "./toasts.js";
import type { ObservatorySpec } from "./types.js";

type Status = ReturnType<LifelineClient["connection"]["getSnapshot"]>["state"];

/** How each state is drawn: the dot's shape and colour (README, "What it shows"). */
const LOOK: Readonly<Record<Status, { dot: string; toast: ToastKind }>> = {
  open: { dot: "dot-open", toast: "ok" },
  degraded: { dot: "dot-degraded", toast: "warn" },
  connecting: { dot: "dot-connecting", toast: "info" },
  reconnecting: { dot: "dot-connecting", toast: "warn" },
  idle: { dot: "dot-idle", toast: "info" },
  closed: { dot: "dot-idle", toast: "info" },
  failed: { dot: "dot-failed", toast: "error" },
};

/**
 * The connection indicator: filled green = open, half yellow = connecting/reconnecting,
 * empty grey = idle/closed, filled red = failed; the state's name and, while
 * reconnecting, the attempt number and a countdown to the next try. A toast on each change.
 */
export function mountConnectionIndicator(
  host: HTMLElement,
  client: LifelineClient<ObservatorySpec>,
  toasts: Toasts,
): () => void {
  const dot = h("span", { class: "dot", attrs: { "aria-hidden": "true" } });
  const label = h("span", { class: "state-name", attrs: { "data-testid": "connection-state" } });
  const detail = h("span", {
    class: "state-detail",
    attrs: { "data-testid": "connection-detail" },
  });
  host.replaceChildren(dot, label, detail);

  let previous: Status | undefined;
  const render = (): void => {
    const snapshot = client.connection.getSnapshot();
    const look = LOOK[snapshot.state];
    dot.className = `dot ${look.dot}`;
    label.textContent = snapshot.state;
    host.dataset.state = snapshot.state;
    let text = "";
    if (snapshot.state === "reconnecting") {
      const wait =
        snapshot.nextRetryAt === undefined
          ? "waiting to go online"
          : `next try in ${Math.max(0, (snapshot.nextRetryAt - Date.now()) / 1000).toFixed(1)} s`;
      text = `attempt ${snapshot.attempt} · ${wait}`;
    } else if (snapshot.state === "connecting" && snapshot.attempt > 0) {
      text = `attempt ${snapshot.attempt}`;
    } else if (snapshot.state === "degraded") {
      text = "heartbeats late";
    } else if (snapshot.state === "failed" && snapshot.cause !== undefined) {
      text = describeCause(snapshot.cause);
    }
    detail.textContent = text;
    if (previous !== undefined && previous !== snapshot.state) {
      const cause = snapshot.cause === undefined ? "" : ` (${describeCause(snapshot.cause)})`;
      toasts.show(`${previous} → ${snapshot.state}${cause}`, look.toast);
    }
    previous = snapshot.state;
  };

  render();
  const unsubscribe = client.connection.subscribe(render);
  // The countdown moves on its own while reconnecting.
  const timer = setInterval(() => {
    if (client.connection.getSnapshot().state === "reconnecting") render();
  }, 200);
  return () => {
    unsubscribe();
    clearInterval(timer);
  };
}

function describeCause(cause: { code?: number; reason: string; errorClass?: string }): string {
  const parts = [cause.errorClass, cause.code === undefined ? undefined : String(cause.code)];
  const head = parts.filter((p) => p !== undefined).join(" ");
  return head === "" ? cause.reason : `${head}: ${cause.reason}`;
}
