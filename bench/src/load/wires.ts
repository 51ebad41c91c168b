/**
 * The load generator speaks each contender's wire with the bare `ws` client, so the
 * load side costs the same for everyone and stays as small as possible: Lifeline's
 * JSON protocol v1 and its MessagePack subprotocol, a plain JSON envelope for raw `ws`,
 * and engine.io v4 + socket.io v5 packets for socket.io (what socket.io-client would send
 * over its websocket transport). Lifeline's HTTP fallback has its own connection object
 * shaped like the part of a `ws` WebSocket used here (`sse-socket.ts`).
 */
import { decode, encode } from "@msgpack/msgpack";
import WebSocket from "ws";
import type { Wire } from "../contenders/types.js";
import type { BenchData } from "../payload.js";
import { ECHO_METHOD, TOPIC } from "../payload.js";
import { SseSocket } from "./sse-socket.js";

/** Every method gets the frame as received: text frames are decoded by the JSON wires only. */
export interface WireDriver {
  url(port: number, clientId: string): string;
  readonly protocols: readonly string[];
  /** Opens a connection to `url`; absent: a `ws` WebSocket offering `protocols`. */
  open?(url: string): WebSocket;
  /** Resolves once the connection can carry traffic (hello, connect ack, subscribed). */
  handshake(ws: WebSocket, subscribe: boolean): Promise<void>;
  /** Answers app-level pings; true when `raw` was one. */
  control(ws: WebSocket, raw: Buffer): boolean;
  /** The broadcast data in a frame, or undefined when the frame is something else. */
  dataOf(raw: Buffer): BenchData | undefined;
  sendRequest(ws: WebSocket, id: number, params: unknown): void;
  /** The request id a response frame answers, or undefined. */
  responseId(raw: Buffer): number | undefined;
}

/** Frames shorter than this are never broadcast data (pings, acks); data is >= 200 bytes. */
export const MIN_DATA_BYTES = 100;

/** Opens a connection the way `driver` speaks. */
export function openConnection(driver: WireDriver, url: string): WebSocket {
  return driver.open?.(url) ?? new WebSocket(url, [...driver.protocols]);
}

function nextFrame(ws: WebSocket, accept: (raw: Buffer) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (raw: Buffer): void => {
      if (accept(raw)) {
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

/** A wire whose frames are text: its methods see the frame decoded as UTF-8. */
interface TextWire extends Omit<WireDriver, "handshake" | "control" | "dataOf" | "responseId"> {
  handshake(ws: WebSocket, subscribe: boolean, next: TextFrameWait): Promise<void>;
  control(ws: WebSocket, text: string): boolean;
  dataOf(text: string): BenchData | undefined;
  responseId(text: string): number | undefined;
}

type TextFrameWait = (ws: WebSocket, accept: (text: string) => boolean) => Promise<void>;

const nextTextFrame: TextFrameWait = (ws, accept) => nextFrame(ws, (raw) => accept(raw.toString()));

function textWire(wire: TextWire): WireDriver {
  return {
    ...wire,
    handshake: (ws, subscribe) => wire.handshake(ws, subscribe, nextTextFrame),
    control: (ws, raw) => wire.control(ws, raw.toString()),
    dataOf: (raw) => wire.dataOf(raw.toString()),
    responseId: (raw) => wire.responseId(raw.toString()),
  };
}

const lifelineUrl = (port: number, clientId: string): string =>
  `ws://127.0.0.1:${port}/ws?client_id=${clientId}&version=1&role=test`;

const lifeline = textWire({
  url: lifelineUrl,
  protocols: ["lifeline.v1"],
  async handshake(ws, subscribe, next) {
    // Listen for hello before the socket opens: it may arrive in the same read as the 101.
    await Promise.all([opened(ws), next(ws, (t) => t.includes('"hello"'))]);
    if (!subscribe) return;
    const subscribed = next(ws, (t) => t.includes('"subscribed"'));
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
});

/** A Lifeline message as the load side reads it (no validation: the server is trusted here). */
interface LoadMessage {
  readonly type?: unknown;
  readonly id?: unknown;
  readonly data?: BenchData;
}

/** One MessagePack frame as a message; anything else (garbage, a scalar) as an empty one. */
export function decodePacked(raw: Uint8Array): LoadMessage {
  try {
    const value = decode(raw);
    return typeof value === "object" && value !== null ? (value as LoadMessage) : {};
  } catch {
    return {};
  }
}

const PONG = encode({ type: "pong" });

/**
 * Lifeline's MessagePack subprotocol (PROTOCOL.md, "MessagePack wire"): the same messages
 * as `lifeline`, one MessagePack map per binary frame. `@msgpack/msgpack` decodes here, the
 * library `@lifeline/protocol/msgpack` is built on, without the protocol's validation (the
 * JSON wire's load side does not validate either).
 */
const lifelineMsgpack: WireDriver = {
  url: lifelineUrl,
  protocols: ["lifeline.v1.msgpack"],
  async handshake(ws, subscribe) {
    const typed = (type: string) => (raw: Buffer) => decodePacked(raw).type === type;
    await Promise.all([opened(ws), nextFrame(ws, typed("hello"))]);
    if (!subscribe) return;
    const subscribed = nextFrame(ws, typed("subscribed"));
    ws.send(encode({ type: "subscribe", id: "s1", topic: TOPIC }));
    await subscribed;
  },
  control(ws, raw) {
    if (raw.length < 32 && decodePacked(raw).type === "ping") {
      ws.send(PONG);
      return true;
    }
    return false;
  },
  dataOf(raw) {
    const m = decodePacked(raw);
    return m.type === "message" ? m.data : undefined;
  },
  sendRequest(ws, id, params) {
    ws.send(encode({ type: "request", id: String(id), method: ECHO_METHOD, params }));
  },
  responseId(raw) {
    const m = decodePacked(raw);
    return m.type === "response" && typeof m.id === "string" ? Number(m.id) : undefined;
  },
};

const raw = textWire({
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
});

const socketio = textWire({
  url: (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
  protocols: [],
  async handshake(ws, _subscribe, next) {
    // engine.io "0{sid,...}" (open), then socket.io CONNECT "40" answered by "40{sid}".
    await Promise.all([opened(ws), next(ws, (t) => t.startsWith("0{"))]);
    const connected = next(ws, (t) => t.startsWith("40"));
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
});

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
  "lifeline-msgpack": lifelineMsgpack,
  "lifeline-sse": lifelineSse,
  ws: raw,
  socketio,
};

/**
 * Bytes a connection has read from its TCP socket: what travelled on the wire, frame
 * headers and HTTP framing included. `ws` keeps its socket private (`_socket`), as it
 * keeps the sender the pre-framed contender reaches; a connection of another kind says
 * it itself (`bytesRead`).
 */
export function bytesRead(connection: WebSocket): number {
  const own = (connection as unknown as { bytesRead?: unknown }).bytesRead;
  if (typeof own === "number") return own;
  return (connection as unknown as { _socket?: { bytesRead: number } })._socket?.bytesRead ?? 0;
}
