/**
 * Signals from the environment that matter to a reconnecting client. In browsers they
 * come from `online`/`offline` and `visibilitychange`; elsewhere there are none.
 */
export interface PageLifecycle {
  /** False while the device reports no network (`navigator.onLine`). */
  isOnline(): boolean;
  /** Subscribes to the signals; returns the function that stops listening. */
  watch(handlers: {
    readonly online: () => void;
    readonly offline: () => void;
    readonly visible: () => void;
    /**
     * The page was hidden or is being unloaded (`visibilitychange` to hidden, `pagehide`):
     * the client saves its positions, since a hidden page may be discarded.
     */
    readonly hidden?: () => void;
  }): () => void;
}

interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** The browser's signals, or `undefined` outside a browser page (Node, workers without `window`). */
export function browserLifecycle(): PageLifecycle | undefined {
  const scope = globalThis as {
    window?: EventTargetLike;
    document?: EventTargetLike & { visibilityState?: string };
    navigator?: { onLine?: boolean };
  };
  const { window, document } = scope;
  if (!window || !document || typeof window.addEventListener !== "function") return undefined;
  return {
    isOnline: () => scope.navigator?.onLine !== false,
    watch(handlers) {
      const onVisibility = () => {
        if (document.visibilityState === "visible") handlers.visible();
        else if (document.visibilityState === "hidden") handlers.hidden?.();
      };
      const onPageHide = () => handlers.hidden?.();
      window.addEventListener("online", handlers.online);
      window.addEventListener("offline", handlers.offline);
      window.addEventListener("pagehide", onPageHide);
      document.addEventListener("visibilitychange", onVisibility);
      return () => {
        window.removeEventListener("online", handlers.online);
        window.removeEventListener("offline", handlers.offline);
        window.removeEventListener("pagehide", onPageHide);
        document.removeEventListener("visibilitychange", onVisibility);
      };
    },
  };
}
