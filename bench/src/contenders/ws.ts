/**
 * The do-it-yourself baseline on `ws`: a broadcast serialises once and sends the string
 * to every socket, or (pre-framed, as engine.io does) frames once with
 * `WebSocket.Sender.frame` and hands the same buffers to every socket's `sendFrame`.
 * Requests are JSON `{id, method, params}` answered with `{id, result}`.
 */
import type { AddressInfo } from "node:net";
import * as wsExports from "ws";
import WebSocket, { WebSocketServer } from "ws";
import type { BenchData } from "../payload.js";
import { TOPIC } from "../payload.js";
import type { ContenderServer, StartOptions } from "./types.js";

/** `ws` keeps its Sender private; engine.io reaches it the same way. */
interface WithSender {
  readonly _sender: { sendFrame(list: readonly Buffer[], cb?: () => void): void };
}

interface FrameOptions {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly opcode: number;
  readonly mask: boolean;
  readonly readOnly: boolean;
}

/** `ws` exports its Sender at runtime, but @types/ws does not declare it. */
const { Sender } = wsExports as unknown as {
  readonly Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] };
};

interface RawRequest {
  readonly id: number;
  readonly method: string;
  readonly params: unknown;
}

export async function startWsServer(
  options: StartOptions & { readonly preframed: boolean },
): Promise<ContenderServer> {
  const wss = new WebSocketServer({
    host: options.host,
    port: options.port,
    perMessageDeflate: false,
    clientTracking: true,
  });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  const stopSweep =
    options.heartbeatMs === undefined ? () => {} : pingSweep(wss, options.heartbeatMs);
  wss.on("connection", (socket) => {
    socket.on("error", () => {});
    socket.on("message", (raw: Buffer) => {
      let request: RawRequest;
      try {
        request = JSON.parse(raw.toString()) as RawRequest;
      } catch {
        return;
      }
      socket.send(JSON.stringify({ id: request.id, result: request.params }));
    });
  });

  const broadcastOnce = (data: BenchData): void => {
    const text = JSON.stringify({ topic: TOPIC, data });
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(text);
    }
  };
  const broadcastPreframed = (data: BenchData): void => {
    const frame = Sender.frame(Buffer.from(JSON.stringify({ topic: TOPIC, data })), {
      fin: true,
      rsv1: false,
      opcode: 1,
      mask: false,
      readOnly: false,
    });
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) {
        (client as unknown as WithSender)._sender.sendFrame(frame);
      }
    }
  };

  return {
    port: (wss.address() as AddressInfo).port,
    broadcast: options.preframed ? broadcastPreframed : broadcastOnce,
    connections: () => wss.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        stopSweep();
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/**
 * The heartbeat `ws` documents for detecting broken connections: every interval, terminate
 * a socket that has not answered the previous ping, then ping the others.
 */
function pingSweep(wss: WebSocketServer, intervalMs: number): () => void {
  const alive = new WeakSet<WebSocket>();
  wss.on("connection", (socket) => {
    alive.add(socket);
    socket.on("pong", () => alive.add(socket));
  });
  const timer = setInterval(() => {
    for (const socket of wss.clients) {
      if (!alive.has(socket)) {
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      socket.ping();
    }
  }, intervalMs);
  return () => clearInterval(timer);
}
