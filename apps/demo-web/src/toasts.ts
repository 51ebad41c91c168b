import { h } from "./dom.js";

export type ToastKind = "info" | "ok" | "warn" | "error";

export interface Toasts {
  show(message: string, kind?: ToastKind): void;
}

/** Short notices in a corner; each disappears after `lifetimeMs`, at most `max` at once. */
export function createToasts(host: HTMLElement, lifetimeMs = 4000, max = 4): Toasts {
  return {
    show(message, kind = "info") {
      const toast = h("div", {
        class: `toast toast-${kind}`,
        text: message,
        attrs: { role: "status" },
      });
      host.append(toast);
      while (host.childElementCount > max) host.firstElementChild?.remove();
      setTimeout(() => {
        toast.classList.add("toast-leaving");
        setTimeout(() => toast.remove(), 300);
      }, lifetimeMs);
    },
  };
}
