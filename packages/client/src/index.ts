// Browser entry: no Node built-ins, the global WebSocket (or the `WebSocket` option).
import type { ContractSpec } from "@lifeline/protocol";
import type { LifelineClient } from "./api.js";
import { createClientWith } from "./client.js";
import type { ClientOptions } from "./options.js";
import { browserResolver } from "./socket.js";
import { webStoragePositions } from "./web-storage-positions.js";

export * from "./exports.js";

/**
 * Creates a client that connects (right away unless `lazy`), reconnects by itself, and
 * delivers every subscribed message once, in order, across reconnects.
 */
export function createClient<S extends ContractSpec = ContractSpec>(
  options: ClientOptions<S>,
): LifelineClient<S> {
  return createClientWith(options, {
    resolveWebSocket: browserResolver,
    defaultPositions: (clientId) => webStoragePositions({ key: `lifeline.positions.${clientId}` }),
  });
}
