import type { LifelineClient } from "@lifeline/client";
import { h } from "./dom.js";
import type { ToastKind, Toasts } from "./toasts.js";
import type { ObservatorySpec } from "./types.js";
import { CODEC_LABEL, TRANSPORT_LABEL } from "./wire-choice.js";

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
 * empty grey = idle/closed, filled red = failed; the state's name, the wire and encoding
 * ("WebSocket · JSON", "SSE · JSON", "WebSocket · MessagePack") and, while
 * reconnecting, the attempt number and a countdown to the next try. A toast on each change
 * of state, and when an open connection moves to another wire (a fallback adopted, or the
 * client back on WebSocket).
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
  const wire = h("span", { class: "wire", attrs: { "data-testid": "connection-wire" } });
  host.replaceChildren(dot, label, wire, detail);

  let previous: Status | undefined;
  let previousWire = "";
  const render = (): void => {
    const snapshot = client.connection.getSnapshot();
    const look = LOOK[snapshot.state];
    dot.className = `dot ${look.dot}`;
    label.textContent = snapshot.state;
    host.dataset.state = snapshot.state;
    // The wire of the latest attempt, and the encoding its server agreed to (SSE is JSON).
    const names = [
      snapshot.transport && TRANSPORT_LABEL[snapshot.transport],
      snapshot.codec && CODEC_LABEL[snapshot.codec],
    ];
    wire.textContent = names.filter(Boolean).join(" · ");
    host.dataset.transport = snapshot.transport ?? "";
    host.dataset.codec = snapshot.codec ?? "";
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
    } else if (
      (snapshot.state === "open" || snapshot.state === "degraded") &&
      previousWire !== wire.textContent
    ) {
      toasts.show(`now on ${wire.textContent}`, "info");
    }
    previous = snapshot.state;
    previousWire = wire.textContent;
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
