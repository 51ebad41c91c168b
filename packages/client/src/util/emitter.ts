/** A minimal typed event emitter; `on` returns its undo. */
export interface Emitter<Events extends object> {
  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void;
  emit<E extends keyof Events>(event: E, payload: Events[E]): void;
  count<E extends keyof Events>(event: E): number;
}

export function createEmitter<Events extends object>(
  onListenerError: (error: unknown) => void,
): Emitter<Events> {
  const listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  return {
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) {
        set = new Set();
        listeners.set(event, set);
      }
      const entry = (payload: never) => listener(payload);
      set.add(entry);
      return () => {
        set.delete(entry);
      };
    },
    emit(event, payload) {
      const set = listeners.get(event);
      if (!set) return;
      for (const listener of [...set]) {
        try {
          (listener as (p: typeof payload) => void)(payload);
        } catch (error) {
          // A throwing listener must not break the connection logic that emitted.
          onListenerError(error);
        }
      }
    },
    count(event) {
      return listeners.get(event)?.size ?? 0;
    },
  };
}
