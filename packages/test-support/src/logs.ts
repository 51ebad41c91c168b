import { Writable } from "node:stream";
import { type Logger, pino } from "pino";
import { within } from "./within.js";

/** A pino logger at debug level writing JSON lines into memory the test can read. */
export interface LogCapture {
  /** Each line as written, to search for what must never be logged. */
  readonly raw: string[];
  readonly lines: Record<string, unknown>[];
  readonly logger: Logger;
  /** Resolves with the first line (past or future) matching `predicate`. */
  waitFor(
    predicate: (line: Record<string, unknown>) => boolean,
    label?: string,
  ): Promise<Record<string, unknown>>;
}

export function captureLogs(): LogCapture {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<{
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }>();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString("utf8").split("\n")) {
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
  return {
    raw,
    lines,
    logger: pino({ level: "debug" }, stream),
    waitFor(predicate, label = "a log line") {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      return within(new Promise((resolve) => waiters.add({ predicate, resolve })), label);
    },
  };
}
