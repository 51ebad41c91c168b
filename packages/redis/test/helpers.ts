import type { BrokerHealth, LogEntry } from "@lifeline/server";
import { within } from "@lifeline/test-support";
import type { Logger, RedisBroker } from "../src/index.js";

export { within };

/** Collects delivered entries and lets a test wait for a count of them. */
export interface Recorder {
  readonly entries: LogEntry[];
  readonly listener: (entry: LogEntry) => void;
  waitForCount(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once `check(entries)` holds, tested now and after every entry. */
  waitUntil(check: (entries: readonly LogEntry[]) => boolean, label: string): Promise<void>;
}

export function createRecorder(): Recorder {
  const entries: LogEntry[] = [];
  const waiters = new Set<{ check: () => boolean; resolve: () => void }>();
  function until(check: () => boolean, label: string, timeoutMs: number): Promise<void> {
    if (check()) return Promise.resolve();
    const reached = new Promise<void>((resolve) => waiters.add({ check, resolve }));
    return within(reached, label, timeoutMs);
  }
  return {
    entries,
    listener(entry) {
      entries.push(entry);
      for (const waiter of [...waiters]) {
        if (waiter.check()) {
          waiters.delete(waiter);
          waiter.resolve();
        }
      }
    },
    waitForCount(count, timeoutMs = 10_000) {
      return until(
        () => entries.length >= count,
        `${count} entries (have ${entries.length})`,
        timeoutMs,
      );
    },
    waitUntil(check, label) {
      return until(() => check(entries), label, 10_000);
    },
  };
}

/** Resolves once the broker's health satisfies `wanted`, checked now and on every change. */
export function waitForHealth(
  broker: RedisBroker,
  wanted: (health: BrokerHealth) => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  if (wanted(broker.health())) return Promise.resolve();
  let undo = () => {};
  const changed = new Promise<void>((resolve) => {
    undo = broker.onHealthChange((health) => {
      if (wanted(health)) resolve();
    });
  });
  return within(changed, `health ${wanted.toString()}`, timeoutMs).finally(() => undo());
}

/** Offsets of `entries` in one epoch are exactly `from..to`, in order, each once. */
export function offsetsOf(entries: readonly LogEntry[]): number[] {
  return entries.map((entry) => entry.offset);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A logger that records messages and lets a test wait for one. */
export function createLogRecorder(): Logger & {
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** How many messages so far match `pattern`. */
  count(pattern: RegExp): number;
} {
  const messages: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: () => void }>();
  const write = (_obj: object, msg?: string) => {
    const text = msg ?? "";
    messages.push(text);
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(text)) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };
  return {
    debug: write,
    info: write,
    warn: write,
    error: write,
    count: (pattern) => messages.filter((m) => pattern.test(m)).length,
    waitFor(pattern, timeoutMs = 10_000) {
      if (messages.some((m) => pattern.test(m))) return Promise.resolve();
      const seen = new Promise<void>((resolve) => waiters.add({ pattern, resolve }));
      return within(seen, `a log line matching ${pattern}`, timeoutMs);
    },
  };
}
