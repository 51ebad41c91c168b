import { type Logger, type LoggerOptions, pino } from "pino";

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
export function createLogger(option: Logger | LoggerOptions | false | undefined): Logger {
  if (option === false) return pino({ level: "silent" });
  if (option === undefined) return pino({ level: "info", redact: redactPaths });
  if (isLogger(option)) return option;
  return pino({ redact: redactPaths, ...option });
}

function isLogger(value: Logger | LoggerOptions): value is Logger {
  return (
    typeof (value as Logger).child === "function" && typeof (value as Logger).info === "function"
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
