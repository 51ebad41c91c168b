/**
 * The load generator speaks each contender's wire with the bare `ws` client, so the
 * load side costs the same for everyone and stays as small as possible: Lifeline's
 * JSON protocol v1, a plain JSON envelope for raw `ws`, and engine.io v4 + socket.io v5
 * packets for socket.io (what socket.io-client would send over its websocket transport).
 */
import WebSocket from "ws";
import type { Wire } from "../contenders/types.js";
import type { BenchData } from "../payload.js";
import { ECHO_METHOD, TOPIC } from "../payload.js";
import { SseSocket } from "./sse-socket.js";

export interface WireDriver {
  url(port: number, clientId: string): string;
  /** Opens a connection to `url`; absent: a `ws` WebSocket offering `protocols`. */
  open?(url: string): WebSocket;
  readonly protocols: readonly string[];
  /** Resolves once the connection can carry traffic (hello, connect ack, subscribed). */
  handshake(ws: WebSocket, subscribe: boolean): Promise<void>;
  /** Answers app-level pings; true when `text` was one. */
  control(ws: WebSocket, text: string): boolean;
  /** The broadcast data in a frame, or undefined when the frame is something else. */
  dataOf(text: string): BenchData | undefined;
  sendRequest(ws: WebSocket, id: number, params: unknown): void;
  /** The request id a response frame answers, or undefined. */
  responseId(text: string): number | undefined;
}

/** Frames shorter than this are never broadcast data (pings, acks); data is >= 200 bytes. */
export const MIN_DATA_BYTES = 100;

function nextFrame(ws: WebSocket, accept: (text: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (raw: Buffer): void => {
      if (accept(raw.toString())) {
        cleanup();
        resolve();
      }
    };
    const onClose = (code: number): void => {
      cleanup();
      reject(new Error(`closed during handshake (${code})`));
    };
    const cleanup = (): void => {
      ws.off("message", onMessage);
      ws.off("close", onClose);
    };
    ws.on("message", onMessage);
    ws.on("close", onClose);
  });
}

function opened(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.OPEN) return Promise.resolve();
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("close", (code) => reject(new Error(`closed before open (${code})`)));
  });
}

const lifeline: WireDriver = {
  url: (port, clientId) => `ws://127.0.0.1:${port}/ws?client_id=${clientId}&version=1&role=test`,
  protocols: ["lifeline.v1"],
  async handshake(ws, subscribe) {
    // Listen for hello before the socket opens: it may arrive in the same read as the 101.
    await Promise.all([opened(ws), nextFrame(ws, (t) => t.includes('"hello"'))]);
    if (!subscribe) return;
    const subscribed = nextFrame(ws, (t) => t.includes('"subscribed"'));
    ws.send(JSON.stringify({ type: "subscribe", id: "s1", topic: TOPIC }));
    await subscribed;
  },
  control(ws, text) {
    if (text.length < 32 && text.includes('"ping"')) {
      ws.send('{"type":"pong"}');
      return true;
    }
    return false;
  },
  dataOf(text) {
    const m = JSON.parse(text) as { type: string; data: BenchData };
    return m.type === "message" ? m.data : undefined;
  },
  sendRequest(ws, id, params) {
    ws.send(JSON.stringify({ type: "request", id: String(id), method: ECHO_METHOD, params }));
  },
  responseId(text) {
    const m = JSON.parse(text) as { type: string; id?: string };
    return m.type === "response" && m.id !== undefined ? Number(m.id) : undefined;
  },
};

const raw: WireDriver = {
  url: (port) => `ws://127.0.0.1:${port}/`,
  protocols: [],
  handshake: (ws) => opened(ws),
  control: () => false,
  dataOf(text) {
    return (JSON.parse(text) as { data: BenchData }).data;
  },
  sendRequest(ws, id, params) {
    ws.send(JSON.stringify({ id, method: ECHO_METHOD, params }));
  },
  responseId(text) {
    return (JSON.parse(text) as { id?: number }).id;
  },
};

const socketio: WireDriver = {
  url: (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
  protocols: [],
  async handshake(ws) {
    // engine.io "0{sid,...}" (open), then socket.io CONNECT "40" answered by "40{sid}".
    await Promise.all([opened(ws), nextFrame(ws, (t) => t.startsWith("0{"))]);
    const connected = nextFrame(ws, (t) => t.startsWith("40"));
    ws.send("40");
    await connected;
  },
  control(ws, text) {
    if (text === "2") {
      ws.send("3");
      return true;
    }
    return false;
  },
  dataOf(text) {
    if (!text.startsWith("42[")) return undefined;
    return (JSON.parse(text.slice(2)) as [string, BenchData])[1];
  },
  sendRequest(ws, id, params) {
    ws.send(`42${id}${JSON.stringify([ECHO_METHOD, params])}`);
  },
  responseId(text) {
    return text.startsWith("43") ? Number.parseInt(text.slice(2), 10) : undefined;
  },
};

/**
 * Lifeline over its HTTP fallback: the same messages as `lifeline`, on an `SseSocket`
 * (which offers the part of `ws`'s API the load process uses).
 */
const lifelineSse: WireDriver = {
  ...lifeline,
  url: (port, clientId) => `http://127.0.0.1:${port}/sse?client_id=${clientId}&version=1&role=test`,
  protocols: [],
  open: (url) => new SseSocket(url) as unknown as WebSocket,
};

export const wires: Readonly<Record<Wire, WireDriver>> = {
  lifeline,
  "lifeline-sse": lifelineSse,
  ws: raw,
  socketio,
};
