// Node only: imported by the Node entry, never by the browser entry (test/browser-bundle.test.ts).
import type { WebSocketConstructor } from "./socket.js";
import { globalWebSocket, type WebSocketResolver } from "./websocket.js";

let wsImport: Promise<WebSocketConstructor> | undefined;

/** The global `WebSocket` where there is one (Node 22+), else the `ws` package (Node 20). */
export const nodeResolver: WebSocketResolver = () => {
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
