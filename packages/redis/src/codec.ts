import { containsBinary, type LogEntry } from "@lifeline/protocol";
import { decodeMessagePackValue, encodeMessagePackValue } from "@lifeline/protocol/msgpack";
import { RedisBrokerError, RedisBrokerErrorCode } from "./errors.js";

/**
 * Marks stored data that holds bytes: the rest of the value is the base64 of its
 * MessagePack encoding (README, "How it works", bytes). No JSON text starts with `m`, so
 * every value written before this format existed still reads as JSON.
 */
const PACKED = "msgpack:";

/**
 * Data travels as JSON; `undefined` (which JSON cannot carry) is stored as `null`. Data
 * holding bytes (a `Uint8Array` or `Buffer` anywhere) travels as MessagePack, whose data
 * model is the wire's (JSON's plus bytes), so the bytes reach the other nodes as bytes
 * instead of JSON's `{"0":..}` object, with nothing of the application's to escape.
 */
export function encodeData(topic: string, data: unknown): string {
  if (containsBinary(data)) return encodePacked(topic, data);
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
 * Base64 keeps the value text: the broker reads replies as strings and the live format is
 * line-separated, neither of which raw MessagePack bytes would survive.
 */
function encodePacked(topic: string, data: unknown): string {
  let packed: Uint8Array;
  try {
    packed = encodeMessagePackValue(data);
  } catch (error) {
    throw new RedisBrokerError(
      RedisBrokerErrorCode.InvalidData,
      `append to "${topic}" expects JSON data, with bytes as Uint8Array: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return (
    PACKED + Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString("base64")
  );
}

/**
 * Parses a pub/sub payload written by the append script: one entry per appended message of
 * a batch, each `<offset>\n<epoch>\n<ts>\n<data>`, joined by `\n`. Neither JSON.stringify
 * nor base64 ever writes a raw line break, so every entry is exactly four lines. Returns undefined when any
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
    const data = parseData(lines[i + 3] ?? "");
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
    const data = raw === undefined ? undefined : parseData(raw);
    if (!Number.isSafeInteger(offset) || !Number.isFinite(ts) || data === undefined || !data.ok)
      continue;
    entries.push({ topic, offset, epoch, ts, data: data.value });
  }
  return entries;
}

/** Stored data in either format: MessagePack when marked, JSON otherwise (older versions). */
function parseData(raw: string): { ok: true; value: unknown } | { ok: false } {
  if (!raw.startsWith(PACKED)) return parseJson(raw);
  const buffer = Buffer.from(raw.slice(PACKED.length), "base64");
  // Bytes inside come out as views of what is decoded: a plain Uint8Array, as a MessagePack
  // client's would be, rather than Buffers.
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  // The value's own size bounds every length in it: nothing inside can be longer.
  const decoded = decodeMessagePackValue(bytes, { maxBytes: bytes.byteLength });
  return decoded.ok ? decoded : { ok: false };
}

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false };
  }
}
