import type { BenchData } from "../payload.js";

/**
/**
 * The servers the runner compares. `lifeline-msgpack` and `lifeline-sse` are Lifeline's own
 * server with its clients on the MessagePack subprotocol and on the HTTP fallback: wires of
 * Lifeline rather than other libraries, measured in the fan-out scenarios only
 * (`WIRE_VARIANTS`).
 */
export const CONTENDERS = [
  "lifeline",
  "lifeline-msgpack",
  "lifeline-sse",
  "ws",
  "ws-preframed",
  "socketio",
] as const;
export type ContenderName = (typeof CONTENDERS)[number];

/** Lifeline on another wire than WebSocket + JSON: compared with `lifeline` in the fan-outs only. */
export const WIRE_VARIANTS: readonly ContenderName[] = ["lifeline-msgpack", "lifeline-sse"];

/**
 * What a server process can run: a contender, or Lifeline on the Redis broker (the
 * cross-node scenario; the Redis URL comes as the process's second argument).
 */
export const SERVER_KINDS = [...CONTENDERS, "lifeline-redis"] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** The wire a load client speaks: the pre-framed ws server speaks the same as `ws`. */
export type Wire = "lifeline" | "lifeline-msgpack" | "lifeline-sse" | "ws" | "socketio";

export function wireOf(contender: ServerKind): Wire {
  if (contender === "ws-preframed") return "ws";
  return contender === "lifeline-redis" ? "lifeline" : contender;
}

export interface StartOptions {
  readonly host: string;
  /** 0 for any free port. */
  readonly port: number;
  /** Ping every connection at this interval, the contender's own way; absent: its default. */
  readonly heartbeatMs?: number | undefined;
}

/** What the server process needs from a contender, whatever library it runs on. */
export interface ContenderServer {
  readonly port: number;
  /** Sends one message carrying `data` to every connected (subscribed) client. */
  broadcast(data: BenchData): void;
  /** Live connections as the server counts them. */
  connections(): number;
  close(): Promise<void>;
}
