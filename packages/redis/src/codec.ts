import type { LogEntry } from "@lifeline/protocol";
import { RedisBrokerError, RedisBrokerErrorCode } from "./errors.js";

/** Data travels as JSON; `undefined` (which JSON cannot carry) is stored as `null`. */
export function encodeData(topic: string, data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new RedisBrokerError(
      RedisBrokerErrorCode.InvalidData,
      `append to "${topic}" expects JSON-serialisable data: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return json ?? "null";
}

/**
 * Parses a pub/sub payload written by the append script: one entry per appended message of
 * a batch, each `<offset>\n<epoch>\n<ts>\n<json>`, joined by `\n`. JSON.stringify never
 * writes a raw line break, so every entry is exactly four lines. Returns undefined when any
 * part is malformed (a foreign publisher on our channel never crashes us; the node then
 * reads what it missed from the stream).
 */
export function decodeLive(topic: string, payload: string): LogEntry[] | undefined {
  const lines = payload.split("\n");
  if (lines.length % 4 !== 0) return undefined;
  const entries: LogEntry[] = [];
  for (let i = 0; i < lines.length; i += 4) {
    const offset = Number(lines[i]);
    const epoch = lines[i + 1] ?? "";
    const ts = Number(lines[i + 2]);
    const data = parseJson(lines[i + 3] ?? "");
    if (
      lines[i] === "" ||
      !Number.isSafeInteger(offset) ||
      offset < 1 ||
      lines[i + 2] === "" ||
      !Number.isFinite(ts) ||
      !data.ok
    )
      return undefined;
    entries.push({ topic, offset, epoch, ts, data: data.value });
  }
  return entries;
}

/**
 * Decodes the latest-per-key table's values (each one entry in the live format), keeping
 * those of the current epoch (an older epoch's, left by a reset that did not clear the
 * table, mean nothing), in offset order.
 */
export function decodeLatest(
  topic: string,
  epoch: string,
  values: readonly (string | null)[],
): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const value of values) {
    if (value === null) continue;
    const entry = decodeLive(topic, value)?.[0];
    if (entry !== undefined && entry.epoch === epoch) entries.push(entry);
  }
  return entries.sort((a, b) => a.offset - b.offset);
}

/** One XRANGE reply item: `[id, [field, value, ...]]`. */
export type StreamItem = [string, string[]];

/** Turns XRANGE items (id `<offset>-0`, fields `ts`, `d`) into entries, skipping malformed ones. */
export function decodeStream(
  topic: string,
  epoch: string,
  items: readonly StreamItem[],
): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const item of items) {
    const [id, fields] = item;
    const offset = Number(id.slice(0, id.indexOf("-")));
    let ts = Number.NaN;
    let raw: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === "ts") ts = Number(fields[i + 1]);
      else if (fields[i] === "d") raw = fields[i + 1];
    }
    const data = raw === undefined ? undefined : parseJson(raw);
    if (!Number.isSafeInteger(offset) || !Number.isFinite(ts) || data === undefined || !data.ok)
      continue;
    entries.push({ topic, offset, epoch, ts, data: data.value });
  }
  return entries;
}

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false };
  }
}
