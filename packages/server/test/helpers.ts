import { Writable } from "node:stream";
import { type Logger, pino } from "pino";
import { WebSocket } from "ws";
import type { Clock, TimerHandle } from "../src/clock.js";
import { createServer, type LifelineServer, type ServerOptions } from "../src/index.js";

/** Rejects with `label` when `promise` has not settled within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, label: string, timeoutMs = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A pino logger writing JSON lines into an array the test can read. */
export interface LogCapture {
  readonly lines: Record<string, unknown>[];
  readonly raw: string[];
  readonly logger: Logger;
  /** Resolves with the first line (past or future) matching `predicate`. */
  waitFor(
    predicate: (line: Record<string, unknown>) => boolean,
    label?: string,
  ): Promise<Record<string, unknown>>;
}

export function captureLogs(): LogCapture {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const waiters = new Set<{
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }>();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString().split("\n")) {
        if (text.trim() === "") continue;
        raw.push(text);
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const waiter of [...waiters]) {
          if (waiter.predicate(line)) {
            waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      }
      callback();
    },
  });
  const logger = pino({ level: "debug" }, stream);
  return {
    lines,
    raw,
    logger,
    waitFor(predicate, label = "a log line") {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      return within(new Promise((resolve) => waiters.add({ predicate, resolve })), label);
    },
  };
}

/** A clock the test advances by hand; the server's timers fire only when it does. */
export interface FakeClock extends Clock {
  advance(ms: number): void;
  readonly pending: number;
}

export function createFakeClock(start = 1_700_000_000_000): FakeClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => now,
    setTimeout(callback, delayMs) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, delayMs), callback });
      return id as TimerHandle;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const target = now + ms;
      // Bounded: each round fires at least one timer or stops.
      for (let round = 0; round < 100_000; round += 1) {
        let dueId: number | undefined;
        let dueAt = Number.POSITIVE_INFINITY;
        for (const [id, timer] of timers) {
          if (timer.at <= target && timer.at < dueAt) {
            dueAt = timer.at;
            dueId = id;
          }
        }
        if (dueId === undefined) break;
        const timer = timers.get(dueId);
        timers.delete(dueId);
        now = dueAt;
        timer?.callback();
      }
      now = target;
    },
    get pending() {
      return timers.size;
    },
  };
}

/** A raw `ws` test client with a queue of parsed messages and its close. */
export interface TestClient {
  readonly ws: WebSocket;
  readonly received: Record<string, unknown>[];
  /** Resolves with the next message not yet taken that matches `predicate`. */
  next(
    predicate?: (message: Record<string, unknown>) => boolean,
    label?: string,
  ): Promise<Record<string, unknown>>;
  send(message: unknown): void;
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export function openClient(
  url: string,
  options: ConstructorParameters<typeof WebSocket>[2] = {},
): TestClient {
  const ws = new WebSocket(url, options);
  const received: Record<string, unknown>[] = [];
  const taken = new Set<number>();
  const waiters = new Set<{
    predicate: (m: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
  }>();
  ws.on("error", () => {});
  ws.on("message", (data) => {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    const index = received.push(message) - 1;
    for (const waiter of waiters) {
      if (waiter.predicate(message)) {
        waiters.delete(waiter);
        taken.add(index);
        waiter.resolve(message);
        return;
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  return {
    ws,
    received,
    next(predicate = () => true, label = "a message") {
      const index = received.findIndex((m, i) => !taken.has(i) && predicate(m));
      if (index >= 0) {
        taken.add(index);
        return Promise.resolve(received[index] as Record<string, unknown>);
      }
      return within(new Promise((resolve) => waiters.add({ predicate, resolve })), label);
    },
    send(message) {
      ws.send(typeof message === "string" ? message : JSON.stringify(message));
    },
    closed,
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await within(closed, "client close");
    },
  };
}

export const ofType =
  (type: string, extra: (m: Record<string, unknown>) => boolean = () => true) =>
  (message: Record<string, unknown>): boolean =>
    message.type === type && extra(message);

/** Starts a server on 127.0.0.1:0 with quiet logs unless a logger is given. */
export async function startServer<P = unknown>(
  options: ServerOptions<P> = {},
): Promise<LifelineServer<P>> {
  return createServer<P>({ logger: false, ...options });
}

export function wsUrl(
  server: LifelineServer<never> | LifelineServer<unknown> | { port: number },
  query = "client_id=c1&version=1&role=test",
): string {
  return `ws://127.0.0.1:${server.port}/ws?${query}`;
}

/** Opens a client and waits for its hello. */
export async function connect(
  server: { port: number },
  clientId = "c1",
  extra = "",
  options: ConstructorParameters<typeof WebSocket>[2] = {},
): Promise<TestClient & { hello: Record<string, unknown> }> {
  const client = openClient(
    wsUrl(server, `client_id=${clientId}&version=1&role=test${extra}`),
    options,
  );
  const hello = await client.next(ofType("hello"), "hello");
  return Object.assign(client, { hello });
}

/** Disposes everything a test started, even when it failed. */
export function createDisposer(): { add(dispose: () => unknown): void; run(): Promise<void> } {
  const list: (() => unknown)[] = [];
  return {
    add(dispose) {
      list.push(dispose);
    },
    async run() {
      for (const dispose of list.splice(0).reverse()) {
        try {
          await dispose();
        } catch {
          // Keep disposing the rest.
        }
      }
    },
  };
}
