import type { HelloMessage, ServerMessage } from "@lifeline/protocol";
import type { WebSocketConstructor, WebSocketLike } from "../../src/transport/socket.js";

/** A scripted WebSocket: the test plays the server by calling its methods. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: string[] = [];
  closedWith: { code?: number | undefined; reason?: string | undefined } | undefined;
  terminated = false;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }

  /** Sent frames, parsed. */
  messages(): Array<Record<string, unknown>> {
    return this.sent.map((frame) => JSON.parse(frame) as Record<string, unknown>);
  }

  ofType(type: string): Array<Record<string, unknown>> {
    return this.messages().filter((m) => m.type === type);
  }

  query(name: string): string | null {
    return new URL(this.url).searchParams.get(name);
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(message: ServerMessage | Record<string, unknown> | string): void {
    this.onmessage?.({ data: typeof message === "string" ? message : JSON.stringify(message) });
  }

  /** Opens and says hello. */
  accept(hello: Partial<HelloMessage> = {}): void {
    this.open();
    this.receive({
      type: "hello",
      server_time: new Date(0).toISOString(),
      accepted_version: 1,
      features: ["resume"],
      request_id: "req-1",
      client_id: this.query("client_id") ?? "",
      connection_id: `conn-${Math.random().toString(36).slice(2)}`,
      heartbeat_interval_ms: 25_000,
      ...hello,
    });
  }

  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The socket could not be opened (refused, or an HTTP status under `ws`). */
  fail(message = "connect ECONNREFUSED 127.0.0.1:1"): void {
    this.onerror?.({ message });
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }
}

/** A WebSocket constructor that records every socket made, and lets a test await the next one. */
export function fakeSockets() {
  const all: FakeSocket[] = [];
  let waiters: Array<(socket: FakeSocket) => void> = [];
  const WebSocket = class extends FakeSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      all.push(this);
      const ready = waiters;
      waiters = [];
      for (const resolve of ready) resolve(this);
    }
  } as unknown as WebSocketConstructor;
  return {
    WebSocket,
    all,
    last(): FakeSocket {
      const socket = all.at(-1);
      if (!socket) throw new Error("no socket was created");
      return socket;
    },
    /** Resolves with socket number `index` (0-based) once the client has created it. */
    nth(index: number): Promise<FakeSocket> {
      const existing = all[index];
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve) => {
        const wait = (socket: FakeSocket) => {
          if (all[index]) resolve(all[index] as FakeSocket);
          else waiters.push(wait);
          void socket;
        };
        waiters.push(wait);
      });
    },
  };
}
