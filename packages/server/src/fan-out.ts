import type { Socket } from "node:net";
import * as wsModule from "ws";
import { WebSocket } from "ws";

/**
 * A server message serialised and framed once (RFC 6455 section 5.2, unmasked text frame),
 * ready to be written to any number of sockets: a broadcast costs one `JSON.stringify`
 * and one frame header, not one per recipient.
 */
export interface PreparedMessage {
  readonly text: string;
  /** Header and payload in one buffer. */
  readonly frame: Buffer;
  /** Payload size in bytes. */
  readonly bytes: number;
}

interface FrameOptions {
  readonly fin: boolean;
  readonly opcode: number;
  readonly mask: boolean;
  readonly readOnly: boolean;
  readonly rsv1: boolean;
}

/** `ws` exports `Sender.frame` (used the same way by engine.io) but @types/ws omits it. */
const Sender = (
  wsModule as unknown as {
    readonly Sender: { frame(data: Buffer, options: FrameOptions): [Buffer, Buffer?] };
  }
).Sender;

export function prepareMessage(text: string): PreparedMessage {
  const payload = Buffer.from(text);
  const [header, body] = Sender.frame(payload, {
    fin: true,
    opcode: 0x01,
    mask: false,
    readOnly: false,
    rsv1: false,
  });
  const frame = body === undefined ? header : Buffer.concat([header, body]);
  return { text, frame, bytes: payload.length };
}

/** The parts of `ws` internals the pre-framed path writes through. */
interface WebSocketInternals {
  readonly _socket?: Socket;
  readonly _sender?: { readonly _state?: number; readonly _queue?: readonly unknown[] };
}

/**
 * Writes prepared frames. Without permessage-deflate, frames go straight to the TCP
 * socket, which is corked on the first write of a tick and uncorked on the next one, so
 * every frame queued for one socket within a tick leaves in a single `writev` (the
 * kernel write is most of the cost of a delivery, issue 3 "Benchmarks"). With deflate,
 * or when `ws` has its own queue busy, it falls back to `ws.send` to keep frame order.
 */
export interface SocketWriter {
  /** Sends `message`; false when the socket is no longer open. */
  write(socket: WebSocket, message: PreparedMessage): boolean;
  /** Uncorks every corked socket now. */
  flush(): void;
}

export function createSocketWriter(options: { readonly deflate: boolean }): SocketWriter {
  const corked: Socket[] = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    for (let i = 0; i < corked.length; i += 1) (corked[i] as Socket).uncork();
    corked.length = 0;
  };

  return {
    write(ws, message) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      const internals = ws as unknown as WebSocketInternals;
      const socket = internals._socket;
      const sender = internals._sender;
      const direct =
        !options.deflate &&
        socket !== undefined &&
        sender !== undefined &&
        (sender._state ?? 0) === 0 &&
        (sender._queue?.length ?? 0) === 0;
      if (!direct) {
        ws.send(message.text);
        return true;
      }
      if (socket.writableCorked === 0) {
        socket.cork();
        corked.push(socket);
        if (!scheduled) {
          scheduled = true;
          process.nextTick(flush);
        }
      }
      socket.write(message.frame);
      return true;
    },
    flush,
  };
}

/** Bytes queued for `ws` and not yet handed to the kernel. */
export function bufferedBytes(ws: WebSocket): number {
  return ws.bufferedAmount;
}
