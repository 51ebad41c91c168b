/**
 * The JSON text of a server message, with the binary rule of PROTOCOL.md ("MessagePack
 * wire", binary data): JSON has no bytes, so a `Uint8Array` (a `Buffer` too) anywhere in a
 * message becomes its standard base64 string (RFC 4648 section 4, padded) for a JSON
 * recipient, while MessagePack recipients of the same message get the bytes. Without the
 * rule `JSON.stringify` would send `{"0":1,"1":2}` (or a Buffer's `{"type":"Buffer",...}`),
 * which no peer can read back as bytes.
 */

/** Past this depth the walk gives up; `JSON.stringify` reports a cycle on its own. */
const MAX_DEPTH = 64;

/** True when `value` holds a `Uint8Array` anywhere (own enumerable properties, arrays). */
export function containsBinary(value: unknown, depth = 0): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (value instanceof Uint8Array) return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      if (containsBinary(value[i], depth + 1)) return true;
    }
    return false;
  }
  for (const key in value) {
    if (containsBinary((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/**
 * Reads the raw property rather than `value`: a Buffer's `toJSON` has already run by the
 * time a replacer sees the value.
 */
function base64Replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Uint8Array
    ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64")
    : value;
}

/**
 * `JSON.stringify(message)` with bytes as base64. Throws like `JSON.stringify` on what JSON
 * cannot encode (a BigInt, a cycle). The walk for bytes runs before the stringify: a message
 * without any (nearly all) pays no replacer call per key.
 */
export function toJsonText(message: unknown): string {
  return containsBinary(message)
    ? JSON.stringify(message, base64Replacer)
    : (JSON.stringify(message) as string);
}
