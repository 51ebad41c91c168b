import type { ClientMessage } from "@lifeline/protocol";
import type { StatsRecorder } from "../state/stats.js";
import type { Connection } from "../transport/connection.js";

/**
 * The current attempt's connection and, once it said `hello`, the one sends go through.
 * The attempt runner sets and clears them; every other part only sends.
 */
export class ConnectionLink {
  /** The current attempt's connection, greeted or not. */
  current: Connection | undefined;
  /** The connection that has said `hello`; sends go through it. */
  active: Connection | undefined;

  readonly #stats: StatsRecorder;

  constructor(stats: StatsRecorder) {
    this.#stats = stats;
  }

  /** Sends on the greeted connection; false when there is none (the caller queues or drops). */
  send(message: ClientMessage): boolean {
    return this.active?.send(message) ?? false;
  }

  /** Sends like `send`, and counts the frame under `type` in the stats when it went out. */
  sendCounted(type: string, message: ClientMessage): boolean {
    if (!this.send(message)) return false;
    this.#stats.countSent(type);
    return true;
  }
}
