/**
 * The JSON text of a server message, with the binary rule of PROTOCOL.md ("MessagePack
 * wire", binary data): JSON has no bytes, so a `Uint8Array` (a `Buffer` too) anywhere in a
 * message becomes its standard base64 string (RFC 4648 section 4, padded) for a JSON
 * recipient, while MessagePack recipients of the same message get the bytes. Without the
 * rule `JSON.stringify` would send `{"0":1,"1":2}` (or a Buffer's `{"type":"Buffer",...}`),
 * which no peer can read back as bytes.
 */
import { containsBinary } from "@lifeline/protocol";

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
