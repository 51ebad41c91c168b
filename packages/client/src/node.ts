// Node entry (export condition "node"): like the browser entry, but when there is no global
// WebSocket (Node 20) it loads the `ws` package, an optional peer dependency.
import { join } from "node:path";
import type { ContractSpec } from "@lifeline/protocol";
import type { LifelineClient } from "./api.js";
import { createClientWith, type Platform } from "./client.js";
import type { ClientOptions } from "./options.js";
import { filePositions } from "./positions/file-store.js";
import { nodeResolver } from "./transport/websocket-node.js";

export * from "./exports.js";
export { type FilePositionsOptions, filePositions } from "./positions/file-store.js";

/**
 * `positions: true` under Node: a file named after the client id, which must therefore be
 * the application's own (a generated one is new in every process and would never be found).
 */
const defaultPositions: Platform["defaultPositions"] = (clientId, chosenId) => {
  if (!chosenId) {
    throw new TypeError(
      'createClient: "positions: true" under Node needs a "clientId" of your own to name its file; or pass filePositions(path)',
    );
  }
  return filePositions(
    join(process.cwd(), ".lifeline", `positions-${encodeURIComponent(clientId)}.json`),
  );
};

/**
 * Creates a client that connects (right away unless `lazy`), reconnects by itself, and
 * delivers every subscribed message once, in order, across reconnects.
 */
export function createClient<S extends ContractSpec = ContractSpec>(
  options: ClientOptions<S>,
): LifelineClient<S> {
  return createClientWith(options, { resolveWebSocket: nodeResolver, defaultPositions });
}
