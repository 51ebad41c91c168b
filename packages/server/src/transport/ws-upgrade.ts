import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { truncateCloseReason } from "@lifeline/protocol";
import type { WebSocket, WebSocketServer } from "ws";
import type { Admit, Admitted, HandshakeAnswer } from "../admission.js";
import type { ServerContext } from "../context.js";
import { parseTarget, refuseUpgrade } from "../handshake.js";
import { bump } from "../stats.js";

/** Takes an upgrade request for the endpoint's path (true), or leaves it untouched (false). */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

export interface WsUpgradeDeps<Principal> {
  readonly wss: WebSocketServer;
  readonly admit: Admit<Principal>;
  readonly accept: (admitted: Admitted<Principal>) => void;
}

/**
 * Shared by every upgrade socket until ws takes it over: a reset peer must never crash
 * the process, and a closure per socket would keep its request alive for the connection's
 * whole life.
 */
function ignoreSocketError(): void {}

/**
 * The WebSocket endpoint's side of admission: the one path every upgrade takes, whether
 * the server's own `upgrade` listener or the application (`handleUpgrade`) hands it over.
 * Refusals that need no WebSocket are a plain HTTP status before the upgrade; everything
 * the client must be told with a close code is decided first, then the socket is upgraded
 * and closed with it (PROTOCOL.md, "Refused after the upgrade").
 */
export function createUpgradeHandler<Principal>(
  ctx: ServerContext<Principal>,
  deps: WsUpgradeDeps<Principal>,
): UpgradeHandler {
  const { opts, counters } = ctx;
  const { wss } = deps;

  /**
   * A throw inside an `upgrade` listener would crash the process (it runs in the HTTP
   * parser's callback): admission answers every failure by dropping that one socket.
   */
  return (request, socket, head) => {
    const target = parseTarget(request.url);
    if (!target || target.path !== opts.path) return false;
    socket.on("error", ignoreSocketError);
    deps.admit(request, target.params, answerFor(request, socket, head));
    return true;
  };

  function answerFor(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): HandshakeAnswer<Principal> {
    return {
      gone: () => socket.destroyed,
      refuse: (status, reason, headers) => refuseUpgrade(socket, status, reason, headers),
      close(code, reason, release) {
        upgrade(request, socket, head, (ws) => {
          release();
          if (!ws) return;
          bump(counters.closes, String(code));
          ws.close(code, truncateCloseReason(reason));
        });
      },
      accept(handshake, release) {
        upgrade(request, socket, head, (ws) => {
          release();
          if (!ws) {
            bump(counters.handshakeFailures, "upgrade");
            return;
          }
          deps.accept({ ...handshake, ws });
        });
      },
      drop: () => socket.destroy(),
    };
  }

  /** Completes the upgrade; `done` gets the socket, or undefined when the peer left. */
  function upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    done: (ws: WebSocket | undefined) => void,
  ): void {
    if (socket.destroyed) {
      done(undefined);
      return;
    }
    let settled = false;
    let waiting = false;
    const gone = (): void => {
      if (settled) return;
      settled = true;
      done(undefined);
    };
    // Corked so the 101 response ws writes and what `done` sends at once (hello, or the
    // close frame of a refusal) leave in one write: a write to the kernel is most of the
    // cost of an accepted connection.
    socket.cork();
    try {
      wss.handleUpgrade(request, socket, head, (ws) => {
        if (settled) return;
        settled = true;
        if (waiting) socket.off("close", gone);
        socket.off("error", ignoreSocketError);
        ws.on("error", ignoreSocketError);
        done(ws);
      });
    } finally {
      socket.uncork();
    }
    // ws completes a valid upgrade synchronously; a refused one (HTTP 400) never calls
    // back, so only then is a close listener needed to settle it.
    if (!settled) {
      waiting = true;
      socket.once("close", gone);
    }
  }
}
