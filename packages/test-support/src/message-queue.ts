import { within } from "./within.js";

export type Message = Record<string, unknown>;

/** Received messages that tests take in order of arrival, by predicate. */
export interface MessageQueue {
  readonly received: Message[];
  /** Adds a message, handing it to the oldest waiter it matches. */
  push(message: Message): void;
  /**
   * Resolves with the oldest message not yet taken that matches `predicate`, already
   * received or still to come; rejects after `timeoutMs`.
   */
  next(
    predicate?: (message: Message) => boolean,
    label?: string,
    timeoutMs?: number,
  ): Promise<Message>;
}

export function createMessageQueue(): MessageQueue {
  const received: Message[] = [];
  const taken = new Set<number>();
  const waiters = new Set<{ predicate: (m: Message) => boolean; resolve: (m: Message) => void }>();
  return {
    received,
    push(message) {
      const index = received.push(message) - 1;
      for (const waiter of waiters) {
        if (waiter.predicate(message)) {
          waiters.delete(waiter);
          taken.add(index);
          waiter.resolve(message);
          return;
        }
      }
    },
    next(predicate = () => true, label = "a message", timeoutMs = 5000) {
      const index = received.findIndex((m, i) => !taken.has(i) && predicate(m));
      if (index >= 0) {
        taken.add(index);
        return Promise.resolve(received[index] as Message);
      }
      let waiter: { predicate: (m: Message) => boolean; resolve: (m: Message) => void };
      const arrived = new Promise<Message>((resolve) => {
        waiter = { predicate, resolve };
        waiters.add(waiter);
      });
      return within(arrived, label, timeoutMs).finally(() => waiters.delete(waiter));
    },
  };
}
