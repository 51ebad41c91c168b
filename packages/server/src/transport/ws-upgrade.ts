import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { truncateCloseReason } from "@lifeline/protocol";
import type { Admit, Admitted, AdmittedHandshake, HandshakeAnswer } from "../admission.js";
import type { Connection } from "../connection.js";
import type { ServerContext } from "../context.js";
import { ignoreSocketError, parseTarget, refuseUpgrade } from "../handshake.js";
import { bump, type Counters } from "../stats.js";
import type { WsEndpoint } from "./ws-transport.js";

/** Takes an upgrade request for the endpoint's path (true), or leaves it untouched (false). */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

export interface WsUpgradeDeps<Principal> {
  readonly websocket: WsEndpoint<Connection>;
  readonly admit: Admit<Principal>;
  readonly accept: (admitted: Admitted<Principal>) => void;
}

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
  const shared: AnswerDeps<Principal> = { ...deps, counters };

  /**
   * A throw inside an `upgrade` listener would crash the process (it runs in the HTTP
   * parser's callback): admission answers every failure by dropping that one socket.
   */
  return (request, socket, head) => {
    const target = parseTarget(request.url);
    if (!target || target.path !== opts.path) return false;
    socket.on("error", ignoreSocketError);
    deps.admit(request, target.params, new WsAnswer(shared, request, socket, head));
    return true;
  };
}

interface AnswerDeps<Principal> extends WsUpgradeDeps<Principal> {
  readonly counters: Counters;
}

/**
 * The answer to one upgrade request: one object whose methods are shared by every
 * handshake, not five closures made for each (an accept's garbage is part of its cost).
 */
class WsAnswer<Principal> implements HandshakeAnswer<Principal> {
  constructor(
    private readonly deps: AnswerDeps<Principal>,
    private readonly request: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
  ) {}

  gone(): boolean {
    // An HTTP server's sockets allow half-open connections, so a client that reset or
    // closed during authenticate leaves a socket that has ended but is not destroyed; `ws`
    // would refuse to upgrade it, so admission must not act on it either (no takeover).
    const { socket } = this;
    return socket.destroyed || !socket.readable || !socket.writable;
  }

  refuse(status: number, reason: string, headers?: Readonly<Record<string, string>>): void {
    refuseUpgrade(this.socket, status, reason, headers);
  }

  close(code: number, reason: string, release: () => void): void {
    const { websocket, counters } = this.deps;
    websocket.upgrade(this.request, this.socket, this.head, (upgraded) => {
      release();
      if (!upgraded) return;
      bump(counters.closes, String(code));
      websocket.refuse(upgraded.socket, code, truncateCloseReason(reason));
    });
  }

  accept(handshake: AdmittedHandshake<Principal>, release: () => void): void {
    const deps = this.deps;
    deps.websocket.upgrade(this.request, this.socket, this.head, (upgraded) => {
      release();
      if (!upgraded) {
        bump(deps.counters.handshakeFailures, "upgrade");
        return;
      }
      deps.accept({
        ...handshake,
        socket: upgraded.socket,
        transport: upgraded.transport,
        attach: deps.websocket.attach,
      });
    });
  }

  drop(): void {
    this.socket.destroy();
  }
}
