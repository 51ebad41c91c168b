import { type DestinationStream, type Logger, pino } from "pino";
import type { DemoConfig } from "./config.js";

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
const OMITTED = new Set(["level", "time", "msg", "pid", "hostname", "name", "node"]);

/** One pino JSON line as `12:00:01 INFO  message key=value ...`, for people at a terminal. */
export function formatLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = new Date(typeof record.time === "number" ? record.time : Date.now());
  const clock = time.toTimeString().slice(0, 8);
  const level = LEVEL_NAMES[record.level as number] ?? String(record.level);
  const fields = Object.entries(record)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => {
      if (key === "err" && typeof value === "object" && value !== null) {
        return `err="${String((value as { message?: unknown }).message)}"`;
      }
      return `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`;
    });
  const node = typeof record.node === "string" ? `[${record.node}] ` : "";
  return `${clock} ${level} ${node}${String(record.msg ?? "")}${fields.length > 0 ? `  ${fields.join(" ")}` : ""}\n`;
}

function prettyStream(out: NodeJS.WritableStream): DestinationStream {
  return { write: (line: string) => out.write(formatLine(line)) };
}

/**
 * pino at `config.logLevel`: JSON lines (for log collectors, containers), or readable text
 * when `LOG_FORMAT=pretty`, which is the default when stdout is a terminal.
 */
export function createLogger(config: DemoConfig): Logger {
  const pretty =
    config.logFormat === "pretty" || (config.logFormat === "auto" && process.stdout.isTTY === true);
  const options = { level: config.logLevel, name: "demo-server", base: { node: config.nodeId } };
  return pretty ? pino(options, prettyStream(process.stdout)) : pino(options);
}
