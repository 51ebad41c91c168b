import { CloseCode } from "@lifeline/protocol";
import { type Clock, sleep } from "./clock.js";
import type { Connection } from "./connection.js";
import type { ResolvedShutdown } from "./options.js";

/**
 * `reconnect_after_ms` for each of `count` clients: `base` plus an even spread over
 * `spreadMs`, shuffled by `random`, so a restart does not bring every client back in the
 * same second (PROTOCOL.md, "shutdown"; README, "Shutdown").
 */
export function spreadDelays(
  count: number,
  baseMs: number,
  spreadMs: number,
  random: () => number,
): number[] {
  const delays: number[] = [];
  for (let i = 0; i < count; i += 1) {
    // Stratified: client i lands in slot i of the window, jittered within its slot.
    const slot = count === 0 ? 0 : (i + random()) / count;
    delays.push(Math.round(baseMs + slot * spreadMs));
  }
  // Shuffle so the order of the registry does not decide who waits longest.
  for (let i = delays.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    const a = delays[i] as number;
    delays[i] = delays[j] as number;
    delays[j] = a;
  }
  return delays;
}

export interface DrainPlan {
  readonly connections: readonly Connection[];
  readonly options: ResolvedShutdown;
  readonly clock: Clock;
  readonly random: () => number;
  /** Resolves when `connection` has closed (its `close` event ran). */
  readonly closed: (connection: Connection) => Promise<void>;
}

/**
 * Tells every client `shutdown` with its own `reconnect_after_ms`, closes them with 1012
 * in paced batches, then waits (bounded by `drainTimeoutMs`) for the close handshakes,
 * which also drains their send buffers; whoever is left is terminated.
 */
export async function drainConnections(plan: DrainPlan): Promise<{ terminated: number }> {
  const { connections, options, clock } = plan;
  const delays = spreadDelays(
    connections.length,
    options.reconnectAfterMs,
    options.spreadMs,
    plan.random,
  );
  connections.forEach((connection, i) => {
    connection.send({
      type: "shutdown",
      reason: options.reason.slice(0, 256),
      reconnect_after_ms: delays[i] ?? options.reconnectAfterMs,
    });
  });
  const allClosed = Promise.all(connections.map((connection) => plan.closed(connection)));
  const batchSize = Math.max(1, options.batchSize);
  for (let start = 0; start < connections.length; start += batchSize) {
    if (start > 0) await sleep(clock, options.batchIntervalMs);
    for (const connection of connections.slice(start, start + batchSize)) {
      connection.close(CloseCode.ServiceRestart, options.reason);
    }
  }
  let timer: unknown;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = clock.setTimeout(() => resolve("timeout"), options.drainTimeoutMs);
  });
  const result = await Promise.race([allClosed.then(() => "closed" as const), timedOut]);
  clock.clearTimeout(timer);
  let terminated = 0;
  if (result === "timeout") {
    for (const connection of connections) {
      if (!connection.transport.isClosed(connection)) {
        connection.terminate();
        terminated += 1;
      }
    }
    await allClosed;
  }
  return { terminated };
}
