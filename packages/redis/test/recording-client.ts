import {
  type BackoffPolicy,
  createClient,
  type GapEvent,
  type LifelineClient,
  type WebSocketConstructor,
  type WebSocketLike,
} from "@lifeline/client";
import { WebSocket } from "ws";
import type { Position } from "./delivery-check.js";
import { within } from "./helpers.js";

/** Reconnects within tens of milliseconds, forever: tests wait for recovery, not backoff. */
export const fastBackoff: BackoffPolicy = {
  kind: "exponential",
  baseMs: 20,
  factor: 2,
  capMs: 200,
  maxAttempts: Number.POSITIVE_INFINITY,
  jitter: "full",
};

/** Lets a test wait until a condition over recorded state holds, re-checked on every change. */
export interface Waiters {
  notify(): void;
  until(check: () => boolean, label: string, timeoutMs?: number): Promise<void>;
}

export function createWaiters(): Waiters {
  const waiting = new Set<{ check: () => boolean; resolve: () => void }>();
  return {
    notify() {
      for (const waiter of [...waiting]) {
        if (waiter.check()) {
          waiting.delete(waiter);
          waiter.resolve();
        }
      }
    },
    until(check, label, timeoutMs = 10_000) {
      if (check()) return Promise.resolve();
      let waiter: { check: () => boolean; resolve: () => void } | undefined;
      const reached = new Promise<void>((resolve) => {
        waiter = { check, resolve };
        waiting.add(waiter);
      });
      return within(reached, label, timeoutMs).finally(() => {
        if (waiter) waiting.delete(waiter);
      });
    },
  };
}

interface TopicRecord {
  /** `message` frames as they came off the wire (what the server sent). */
  readonly wire: Position[];
  /** What the subscription handler was given (what the application saw). */
  readonly handled: Position[];
  readonly data: unknown[];
  subscribed: number;
}

/** A real `@lifeline/client` whose frames are recorded on the way in. */
export interface RecordingClient {
  readonly name: string;
  readonly client: LifelineClient;
  readonly gaps: GapEvent[];
  /** The URL of every connection that reached `hello`, in order. */
  readonly connectedTo: string[];
  readonly waiters: Waiters;
  subscribe(topic: string): void;
  topic(topic: string): TopicRecord;
  /** Resolves once `subscribed` for `topic` has arrived `count` times in all. */
  subscribed(topic: string, count?: number, timeoutMs?: number): Promise<void>;
  /** Resolves once the handler of `topic` has been given `offset` of `epoch` (or any later one). */
  reached(topic: string, position: Position, timeoutMs?: number): Promise<void>;
}

export interface RecordingClientOptions {
  readonly name: string;
  /** The node this client starts on comes first; the others are its fail-over list. */
  readonly urls: readonly string[];
  readonly clientId?: string;
}

export function createRecordingClient(options: RecordingClientOptions): RecordingClient {
  const topics = new Map<string, TopicRecord>();
  const gaps: GapEvent[] = [];
  const connectedTo: string[] = [];
  const waiters = createWaiters();

  function record(topic: string): TopicRecord {
    let found = topics.get(topic);
    if (found === undefined) {
      found = { wire: [], handled: [], data: [], subscribed: 0 };
      topics.set(topic, found);
    }
    return found;
  }

  function onFrame(url: string, raw: unknown): void {
    if (typeof raw !== "string") return;
    const frame = JSON.parse(raw) as {
      type?: string;
      topic?: string;
      offset?: number;
      epoch?: string;
    };
    if (frame.type === "hello") connectedTo.push(url.split("?")[0] ?? url);
    else if (frame.type === "message" && frame.topic !== undefined) {
      record(frame.topic).wire.push({ epoch: frame.epoch ?? "", offset: frame.offset ?? -1 });
    } else if (frame.type === "subscribed" && frame.topic !== undefined) {
      record(frame.topic).subscribed += 1;
    }
    waiters.notify();
  }

  const client = createClient({
    url: options.urls,
    ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
    role: "test",
    WebSocket: tappedWebSocket(onFrame),
    backoff: fastBackoff,
    lifecycle: false,
    logLevel: "silent",
  });
  client.on("gap", (gap) => {
    gaps.push(gap);
    waiters.notify();
  });

  return {
    name: options.name,
    client,
    gaps,
    connectedTo,
    waiters,
    subscribe(topic) {
      const rec = record(topic);
      client.subscribe(topic, (data, meta) => {
        rec.handled.push({ epoch: meta.epoch, offset: meta.offset });
        rec.data.push(data);
        waiters.notify();
      });
    },
    topic: record,
    subscribed(topic, count = 1, timeoutMs) {
      const rec = record(topic);
      return waiters.until(
        () => rec.subscribed >= count,
        `${options.name}: subscribed to ${topic} x${count}`,
        timeoutMs,
      );
    },
    reached(topic, position, timeoutMs) {
      const rec = record(topic);
      return waiters.until(
        () => {
          const last = rec.handled.at(-1);
          return (
            last !== undefined && last.epoch === position.epoch && last.offset >= position.offset
          );
        },
        `${options.name}: ${topic} at ${position.epoch}/${position.offset} (has ${JSON.stringify(rec.handled.at(-1))})`,
        timeoutMs,
      );
    },
  };
}

/** A `ws` WebSocket in the shape the client expects, handing every text frame to `onFrame` first. */
function tappedWebSocket(onFrame: (url: string, data: unknown) => void): WebSocketConstructor {
  return class TappedWebSocket implements WebSocketLike {
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { readonly data: unknown }) => void) | null = null;
    onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    private readonly socket: WebSocket;

    constructor(url: string, protocols?: string | string[]) {
      this.socket = new WebSocket(url, protocols);
      this.socket.onopen = (event) => this.onopen?.(event);
      this.socket.onmessage = (event) => {
        onFrame(url, event.data);
        this.onmessage?.(event);
      };
      this.socket.onclose = (event) => this.onclose?.(event);
      this.socket.onerror = (event) => this.onerror?.(event);
    }

    get readyState(): number {
      return this.socket.readyState;
    }

    send(data: string): void {
      this.socket.send(data);
    }

    close(code?: number, reason?: string): void {
      this.socket.close(code, reason);
    }
  };
}
