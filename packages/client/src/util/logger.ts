/** The least severe level a logger writes; `silent` writes nothing. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** One log line as handed to the `logger` hook. */
export interface LogRecord {
  /** How severe the line is. */
  readonly level: Exclude<LogLevel, "silent">;
  /** What happened, for people. */
  readonly message: string;
  /** Structured details (connection id, close code, ...); tokens are redacted. */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Wall-clock time (ms since epoch). */
  readonly time: number;
  /**
   * How many consecutive identical lines (same level and message) this record stands for.
   * A repeated line is written once; when a different line comes, the repeats are written as
   * one folded record, `"<message> x N"`, with `repeated: N`.
   */
  readonly repeated?: number;
}

/** Where log lines go; e.g. `(r) => pino[r.level](r.fields ?? {}, r.message)`. */
export type LogSink = (record: LogRecord) => void;

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Writes a pending folded line now (on close). */
  flush(): void;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export const consoleSink: LogSink = (record) => {
  const line = `[lifeline] ${record.message}`;
  const write = globalThis.console?.[record.level] ?? globalThis.console?.log;
  if (record.fields) write?.call(globalThis.console, line, record.fields);
  else write?.call(globalThis.console, line);
};

/**
 * Levels plus folding of consecutive duplicates: a client that retries every second for
 * an hour writes "reconnect attempt failed" once and then "reconnect attempt failed x 3600",
 * not 3600 lines. Messages are constant strings; what varies goes in `fields`.
 */
export function createLogger(options: {
  readonly sink: LogSink;
  readonly level: LogLevel;
  readonly now: () => number;
}): Logger {
  const threshold = rank[options.level];
  let last: LogRecord | undefined;
  let repeats = 0;

  const flush = () => {
    if (last && repeats > 1) {
      options.sink({ ...last, message: `${last.message} x ${repeats}`, repeated: repeats });
    }
    last = undefined;
    repeats = 0;
  };

  const write =
    (level: Exclude<LogLevel, "silent">) => (message: string, fields?: Record<string, unknown>) => {
      if (rank[level] < threshold) return;
      const record: LogRecord = fields
        ? { level, message, fields, time: options.now() }
        : { level, message, time: options.now() };
      if (last && last.level === level && last.message === message) {
        repeats += 1;
        last = record;
        return;
      }
      flush();
      options.sink(record);
      last = record;
      repeats = 1;
    };

  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    flush,
  };
}
