/**
 * The adapter of the WebSocket wire onto `ws`: upgrades, one `Transport` per codec, and the
 * socket events delivered to the core's sink through listeners shared by every socket.
 *
 * Fan-out writes frames prepared once per message straight to each connection's net
 * socket (`ws-writer.ts`), which reads private fields of `ws` (`_socket`, `_sender`).
 * That path is a capability: `verifyPreframedWrites` proves it against a real `ws`
 * connection at start-up, and the public `ws.send` is used when it fails. `ws` is pinned
 * in package.json to `~8.23.0`, the range whose internals the capability test
 * (`test/transport/ws-capability.test.ts`) has run against: a newer `ws` minor is a
 * deliberate upgrade that runs that test first. The start-up check still guards any `ws`
 * a user forces through an override (slower fan-out, never lost or reordered frames).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { CloseCode, MSGPACK_SUBPROTOCOL, SUBPROTOCOL } from "@lifeline/protocol";
import { WebSocket, WebSocketServer } from "ws";
import { ignoreSocketError } from "../handshake.js";
import type { PreparedMessage } from "./prepared-message.js";
import type { CodecName, Transport, TransportSink, WriteTarget } from "./transport.js";
import { createWsWriter, rawSocketOf, type WsWriter } from "./ws-writer.js";

/**
 * RFC 6455 7.4.1 codes `ws` sends by itself when a frame breaks the protocol; not in
 * Lifeline's close-code table because the server never chooses them.
 */
const ProtocolErrorCode = 1002;
const InvalidPayloadCode = 1007;

export interface WsEndpointOptions<Target extends WriteTarget> {
  /** Largest frame accepted, in bytes (bigger: `ws` closes 1009). */
  readonly maxPayload: number;
  /** permessage-deflate, or false. */
  readonly deflate: false | { readonly threshold: number };
  /** The pre-framed path was proved at start-up (`verifyPreframedWrites`). */
  readonly preframed: boolean;
  /** Subprotocols served, each with its codec; the client's first supported one wins. */
  readonly subprotocols: ReadonlyMap<string, CodecName>;
  /** Where socket events go. */
  readonly sink: TransportSink<Target>;
}

/** A completed upgrade: its socket and the transport of the subprotocol it agreed on. */
export interface Upgraded {
  readonly socket: unknown;
  readonly transport: Transport;
}

export interface WsEndpoint<Target extends WriteTarget> {
  /**
   * Completes an upgrade the caller admitted; `done` gets the socket and its transport, or
   * undefined when the peer left or `ws` refused it (it answered HTTP 400 then).
   */
  upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    done: (upgraded: Upgraded | undefined) => void,
  ): void;
  /** Closes an upgraded socket that never became a connection (a refusal by close code). */
  refuse(socket: unknown, code: number, reason: string): void;
  /** Routes the socket's events of `target` to the sink. */
  attach(target: Target): void;
  /** Stops the upgrade machinery (open sockets are the caller's to close first). */
  close(): void;
}

const kTarget = Symbol("lifeline.target");

interface Tagged<Target> {
  [kTarget]: Target;
}

export function createWsEndpoint<Target extends WriteTarget>(
  options: WsEndpointOptions<Target>,
): WsEndpoint<Target> {
  const { sink, subprotocols } = options;
  const writer = createWsWriter({
    preframed: options.preframed,
    deflate: options.deflate !== false,
  });
  const transports = new Map<CodecName, Transport>();
  for (const codec of new Set(subprotocols.values())) {
    transports.set(codec, createWsTransport(writer, codec));
  }
  const json = transports.get("json") ?? createWsTransport(writer, "json");
  const servedNames = new Map([...subprotocols.keys()].map((name) => [name, name]));
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload,
    clientTracking: false,
    perMessageDeflate: options.deflate === false ? false : { threshold: options.deflate.threshold },
    // The first one the client listed that this server speaks (PROTOCOL.md, "Connecting").
    // Answered with this server's own string, which every socket then shares, rather than
    // the one parsed from this request's header (a string per idle connection).
    handleProtocols: (offered) => {
      for (const protocol of offered) {
        const served = servedNames.get(protocol);
        if (served !== undefined) return served;
      }
      return false;
    },
  });

  const targetOf = (ws: WebSocket): Target => (ws as unknown as Tagged<Target>)[kTarget];
  // Shared by every socket; `this` is the socket (EventEmitter calls listeners that way).
  function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
    sink.message(targetOf(this), data, isBinary);
  }
  function onPong(this: WebSocket): void {
    sink.activity(targetOf(this));
  }
  function onError(this: WebSocket, error: Error): void {
    sink.error(targetOf(this), error, closeCodeForSocketError(error));
  }
  function onClose(this: WebSocket, code: number, reason: Buffer): void {
    sink.closed(targetOf(this), code, reason.toString());
  }

  const listeners: SocketListeners = {
    error: onError,
    close: onClose,
    message: onMessage,
    pong: onPong,
  };

  function transportFor(ws: WebSocket): Transport {
    const codec = ws.protocol === "" ? undefined : subprotocols.get(ws.protocol);
    return (codec === undefined ? undefined : transports.get(codec)) ?? json;
  }

  return {
    upgrade(request, socket, head, done) {
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
          done({ socket: ws, transport: transportFor(ws) });
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
    },
    refuse(socket, code, reason) {
      (socket as WebSocket).close(code, reason);
    },
    attach(target) {
      const ws = target.socket as WebSocket;
      (ws as unknown as Tagged<Target>)[kTarget] = target;
      if (installListeners(ws, listeners)) return;
      ws.removeAllListeners("error");
      ws.on("error", onError);
      ws.on("close", onClose);
      ws.on("message", onMessage);
      ws.on("pong", onPong);
    },
    close() {
      wss.close();
    },
  };
}

/** The `Transport` of one codec over `ws`; both codecs share the writer (one tick, one queue). */
function createWsTransport(writer: WsWriter, codec: CodecName): Transport {
  const binary = codec === "msgpack";
  return {
    name: "websocket",
    codec,
    isOpen: (target) => (target.socket as WebSocket).readyState === WebSocket.OPEN,
    isClosed: (target) => (target.socket as WebSocket).readyState === WebSocket.CLOSED,
    write: (target: WriteTarget, message: PreparedMessage) => writer.write(target, message, binary),
    flush: writer.flush,
    buffered: writer.buffered,
    close(target, code, reason) {
      const ws = target.socket as WebSocket;
      const state = ws.readyState;
      if (state === WebSocket.OPEN || state === WebSocket.CONNECTING) {
        // Frames still queued for this socket go out before the close frame.
        writer.flush(target);
        ws.close(code, reason);
      }
    },
    terminate(target) {
      (target.socket as WebSocket).terminate();
    },
    onDrain(target, callback) {
      // The raw socket's `drain` says the kernel took everything; without it callers poll.
      const raw = rawSocketOf(target.socket as WebSocket);
      if (raw === undefined) return noop;
      raw.on("drain", callback);
      return () => {
        raw.off("drain", callback);
      };
    },
    whenClosed(target) {
      const ws = target.socket as WebSocket;
      if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
      // Registered after the sink's close listener (attach), so its cleanup has run by then.
      return new Promise((resolve) => ws.once("close", () => resolve()));
    },
  };
}

function noop(): void {}

/** The listeners every connection's socket carries, shared by every socket. */
interface SocketListeners {
  readonly error: (this: WebSocket, error: Error) => void;
  readonly close: (this: WebSocket, code: number, reason: Buffer) => void;
  readonly message: (this: WebSocket, data: Buffer, isBinary: boolean) => void;
  readonly pong: (this: WebSocket) => void;
}

/** The part of Node's EventEmitter that holds its listeners (stable since Node 0.x). */
interface EmitterTable {
  _events: unknown;
  _eventsCount: number;
}

// What a listener table inherits: nothing, as the `{ __proto__: null }` EventEmitter makes,
// so an event named like an Object.prototype member ("toString") finds no listener.
const listenerTableProto: object = Object.create(null);

/**
 * Installs the four listeners of a connection's socket as one object of a fixed shape, when
 * the socket carries nothing but the upgrade's placeholder error listener; false (nothing
 * done) otherwise. EventEmitter starts every socket with a `{ __proto__: null }` table, which
 * V8 keeps in dictionary mode: four listeners grow it into a 256-byte hash table for each
 * idle connection, where this object takes 56 bytes
 * (docs/performance.md, "Memory per idle connection"). Every later `on`/`off` (a
 * `whenClosed`, a drain watcher) goes through EventEmitter as usual on this table.
 */
function installListeners(ws: WebSocket, listeners: SocketListeners): boolean {
  const emitter = ws as unknown as EmitterTable;
  const events = emitter._events as Record<string, unknown> | undefined;
  if (emitter._eventsCount !== 1 || events?.error !== ignoreSocketError) return false;
  const table = Object.create(listenerTableProto) as Record<string, unknown>;
  table.error = listeners.error;
  table.close = listeners.close;
  table.message = listeners.message;
  table.pong = listeners.pong;
  emitter._events = table;
  emitter._eventsCount = 4;
  return true;
}

/** The close code `ws` sends by itself when a frame breaks the protocol. */
function closeCodeForSocketError(error: Error): number {
  switch ((error as { code?: string }).code) {
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
      return CloseCode.MessageTooBig;
    case "WS_ERR_INVALID_UTF8":
      return InvalidPayloadCode;
    default:
      return ProtocolErrorCode;
  }
}

/**
 * The subprotocols of the WebSocket wire and their codecs (PROTOCOL.md, "MessagePack
 * wire"); which one a connection gets is the client's choice, by the order it offers them.
 */
export const websocketSubprotocols: ReadonlyMap<string, CodecName> = new Map<string, CodecName>([
  [SUBPROTOCOL, "json"],
  [MSGPACK_SUBPROTOCOL, "msgpack"],
]);
