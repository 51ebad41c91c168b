/**
 * Clients that reconnect by themselves, one kind per contender, for the reconnect storm:
 * the real Lifeline client with its default backoff, socket.io-client with its defaults,
 * and for raw `ws` the loop everyone writes: exponential backoff with full jitter (1 s
 * base, factor 2, 30 s cap), the same schedule as Lifeline's default.
 */
import { io } from "socket.io-client";
import WebSocket from "ws";

export type StormKind = "lifeline" | "ws" | "socketio";

export interface StormHooks {
  onUp(): void;
  onDown(): void;
}

export interface StormClient {
  /** Resolves on the first successful connection. */
  readonly firstOpen: Promise<void>;
  wasDown: boolean;
  counted: boolean;
  /** Connection attempts made so far. */
  attempts(): number;
  close(): void;
}

export type StormClientFactory = (port: number, clientId: string, hooks: StormHooks) => StormClient;

/** Lifeline's client is loaded only when asked for, so the other contenders run without it. */
export async function stormClientFactory(kind: StormKind): Promise<StormClientFactory> {
  switch (kind) {
    case "ws":
      return (port, _clientId, hooks) => rawWsClient(`ws://127.0.0.1:${port}/`, hooks);
    case "socketio":
      return (port, _clientId, hooks) => socketIoClient(`ws://127.0.0.1:${port}`, hooks);
    case "lifeline":
      return (await import("./lifeline-client.js")).startLifelineStormClient;
  }
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function rawWsClient(url: string, hooks: StormHooks): StormClient {
  const first = deferred();
  let attempt = 0;
  let attempts = 0;
  let closed = false;
  let socket: WebSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const open = (): void => {
    attempts++;
    const ws = new WebSocket(url);
    socket = ws;
    let wasOpen = false;
    ws.on("error", () => {});
    ws.on("open", () => {
      wasOpen = true;
      attempt = 0;
      first.resolve();
      hooks.onUp();
    });
    ws.on("close", () => {
      if (closed) return;
      if (wasOpen) hooks.onDown();
      const delayMs = Math.random() * Math.min(30_000, 1000 * 2 ** attempt);
      attempt++;
      timer = setTimeout(open, delayMs);
    });
  };
  open();
  const client: StormClient = {
    firstOpen: first.promise,
    wasDown: false,
    counted: false,
    attempts: () => attempts,
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      socket?.terminate();
    },
  };
  return client;
}

function socketIoClient(url: string, hooks: StormHooks): StormClient {
  const first = deferred();
  let attempts = 1;
  const socket = io(url, { transports: ["websocket"], forceNew: true });
  socket.on("connect", () => {
    first.resolve();
    hooks.onUp();
  });
  socket.on("disconnect", () => hooks.onDown());
  socket.io.on("reconnect_attempt", () => {
    attempts++;
  });
  return {
    firstOpen: first.promise,
    wasDown: false,
    counted: false,
    attempts: () => attempts,
    close() {
      socket.close();
    },
  };
}
