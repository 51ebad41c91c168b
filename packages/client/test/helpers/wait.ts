import type { ConnectionStatus } from "../../src/state/machine.js";
import type { StateChange } from "../../src/state/store.js";

interface Observable {
  readonly status: ConnectionStatus;
  on(event: "state", listener: (change: StateChange) => void): () => void;
}

/** Resolves with the transition into `state` (`undefined` if the client is already there). */
export function waitForState(
  client: Observable,
  state: ConnectionStatus,
): Promise<StateChange | undefined> {
  if (client.status === state) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const stop = client.on("state", (change) => {
      if (change.next !== state) return;
      stop();
      resolve(change);
    });
  });
}

/** Collects values and lets a test await a count, event-driven (no polling, no sleeps). */
export class Collector<T> {
  readonly items: T[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (this.items.length < w.count) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves once at least `count` items arrived. */
  waitFor(count: number): Promise<T[]> {
    if (this.items.length >= count) return Promise.resolve(this.items);
    return new Promise((resolve) => {
      this.waiters.push({ count, resolve: () => resolve(this.items) });
    });
  }
}
