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
 * Parses a pub/sub payload `<offset>\n<epoch>\n<ts>\n<json>` written by the append script.
 * Returns undefined for anything else (a foreign publisher on our channel never crashes us).
 */
export function decodeLive(topic: string, payload: string): LogEntry | undefined {
  const a = payload.indexOf("\n");
  const b = payload.indexOf("\n", a + 1);
  const c = payload.indexOf("\n", b + 1);
  if (a < 1 || b < 0 || c < 0) return undefined;
  const offset = Number(payload.slice(0, a));
  const epoch = payload.slice(a + 1, b);
  const ts = Number(payload.slice(b + 1, c));
  const data = parseJson(payload.slice(c + 1));
  if (!Number.isSafeInteger(offset) || offset < 1 || !Number.isFinite(ts) || !data.ok) {
    return undefined;
  }
  return { topic, offset, epoch, ts, data: data.value };
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
