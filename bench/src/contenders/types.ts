import type { BenchData } from "../payload.js";

/**
 * The servers the runner compares. `lifeline-sse` is Lifeline's own server with clients on
 * its HTTP fallback (fan-out scenarios only).
 */
export const CONTENDERS = ["lifeline", "lifeline-sse", "ws", "ws-preframed", "socketio"] as const;
export type ContenderName = (typeof CONTENDERS)[number];

/**
 * What a server process can run: a contender, or Lifeline on the Redis broker (the
 * cross-node scenario; the Redis URL comes as the process's second argument).
 */
export const SERVER_KINDS = [...CONTENDERS, "lifeline-redis"] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** The wire a load client speaks: the pre-framed ws server speaks the same as `ws`. */
export type Wire = "lifeline" | "lifeline-sse" | "ws" | "socketio";

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
