/**
 * The Lifeline client for browsers and Node: one connection that reconnects by itself, resumes
 * every subscription from its last offset, and queues what is sent while it is down. Node without a
 * global `WebSocket` loads the `ws` package.
 *
 * @packageDocumentation
 * @module @lifeline/client
 */
// Browser entry: no Node built-ins, the global WebSocket (or the `WebSocket` option).
import type { ContractSpec } from "@lifeline/protocol";
import type { LifelineClient } from "./api.js";
import { createClientWith } from "./client.js";
import type { ClientOptions } from "./options.js";
import { webStoragePositions } from "./positions/web-storage-store.js";
import { browserResolver } from "./transport/websocket.js";

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
