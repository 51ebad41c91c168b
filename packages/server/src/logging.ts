import { type LoggerOptions, pino } from "pino";

/** A log method as pino and bunyan have it: fields first, the message second. */
export interface LogFn {
  (fields: object, message: string): void;
  (message: string): void;
}

/**
 * What the server needs of a logger: pino's level methods. A pino or bunyan logger fits
 * as is; anything else with `debug`, `info`, `warn` and `error` taking `(fields, message)`
 * does too (wrap a logger whose methods take the message first).
 */
export interface ServerLogger {
  /** Logs at debug level: connections accepted and closed cleanly. */
  debug: LogFn;
  /** Logs at info level: refused handshakes, startup and shutdown. */
  info: LogFn;
  /** Logs at warn level: what needs attention. */
  warn: LogFn;
  /** Logs at error level: failures of the server or of a hook. */
  error: LogFn;
  /**
   * Whether a level is on. When present (pino has it), the fields of the per-connection
   * lines are built only when their level is on; without it every line is handed over and
   * the logger filters.
   */
  isLevelEnabled?(level: string): boolean;
}

/** The logger as the server uses it: `isLevelEnabled` always present. */
export interface Log extends ServerLogger {
  isLevelEnabled(level: string): boolean;
}

/**
 * The level of the default logger: a library stays quiet until something needs attention.
 * Connections come and go at `debug`; a refused handshake is `info`; an unexpected close, a
 * failed delivery or a limit refusal `warn`.
 */
export const defaultLogLevel = "warn";

/**
 * Header and field paths pino censors in every line, on top of `redactUrl`: credentials
 * may arrive as a cookie or an Authorization header as well as the `token` query value.
 */
const redactPaths = [
  "token",
  "*.token",
  "headers.authorization",
  "headers.cookie",
  "*.headers.authorization",
  "*.headers.cookie",
];

/** Makes the server's logger from the `logger` option. */
export function createLogger(option: ServerLogger | LoggerOptions | false | undefined): Log {
  if (option === false) return pino({ level: "silent" });
  if (option === undefined) return pino({ level: defaultLogLevel, redact: redactPaths });
  if (!isLogger(option)) return pino({ level: defaultLogLevel, redact: redactPaths, ...option });
  if (typeof option.isLevelEnabled === "function") return option as Log;
  return {
    debug: option.debug.bind(option),
    info: option.info.bind(option),
    warn: option.warn.bind(option),
    error: option.error.bind(option),
    isLevelEnabled: () => true,
  };
}

function isLogger(value: ServerLogger | LoggerOptions): value is ServerLogger {
  const candidate = value as Partial<Record<keyof ServerLogger, unknown>>;
  return (["debug", "info", "warn", "error"] as const).every(
    (level) => typeof candidate[level] === "function",
  );
}

const tokenParam = /([?&]token=)[^&#]*/gi;

/**
 * A request URL fit for logs and status output: the `token` query value is replaced.
 * Works on the raw string so a malformed URL is still redacted.
 */
export function redactUrl(url: string | undefined): string {
  if (url === undefined) return "";
  return url.replace(tokenParam, "$1[redacted]");
}
