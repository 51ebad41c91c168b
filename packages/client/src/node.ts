// Node entry (export condition "node"): like the browser entry, but when there is no global
// WebSocket (Node 20) it loads the `ws` package, an optional peer dependency.
import type { ContractSpec } from "@lifeline/protocol";
import type { LifelineClient } from "./api.js";
import { createClientWith } from "./client.js";
import type { ClientOptions } from "./options.js";
import { globalWebSocket, type WebSocketConstructor, type WebSocketResolver } from "./socket.js";

export * from "./exports.js";

let wsImport: Promise<WebSocketConstructor> | undefined;

const nodeResolver: WebSocketResolver = () => {
  const found = globalWebSocket();
  if (found) return found;
  wsImport ??= import("ws").then(
    (module) => module.WebSocket,
    (error: unknown) => {
      wsImport = undefined;
      throw new TypeError(
        "no global WebSocket in this Node version and the `ws` package is not installed: run `npm install ws` or pass the `WebSocket` option",
        { cause: error },
      );
    },
  );
  return wsImport;
};

/**
 * Creates a client that connects (right away unless `lazy`), reconnects by itself, and
 * delivers every subscribed message once, in order, across reconnects.
 */
export function createClient<S extends ContractSpec = ContractSpec>(
  options: ClientOptions<S>,
): LifelineClient<S> {
  return createClientWith(options, nodeResolver);
}
