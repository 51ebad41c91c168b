import type { ClientMessage } from "@lifeline/protocol";
import type { OutboxEntry } from "./outbox.js";

/** What requests, publishes and subscriptions need from the connection. */
export interface Sender {
  /** Sends now when open, else queues in the outbox. */
  deliver(entry: OutboxEntry): "sent" | "queued" | "full";
  /** Sends a control frame (subscribe, unsubscribe) only if open; they are replayed on reopen anyway. */
  sendIfOpen(type: "subscribe" | "unsubscribe" | "presence", message: ClientMessage): boolean;
  /** Removes a queued entry (its operation timed out or was aborted). */
  withdraw(id: string): void;
  /** A fresh message id, unique for this client_id across page loads. */
  nextId(prefix: string): string;
}
