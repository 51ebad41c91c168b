/**
 * Bytes in application data. JSON has none: the MessagePack wire carries a `Uint8Array`
 * (a `Buffer` too) as `bin`, and whoever turns data into JSON for a JSON recipient or for
 * storage has to notice it first (PROTOCOL.md, "MessagePack wire", bytes and JSON
 * recipients).
 */

/** Past this depth the walk gives up; `JSON.stringify` reports a cycle on its own. */
const MAX_DEPTH = 64;

/**
 * True when `value` holds a `Uint8Array` anywhere in its own enumerable properties and
 * array items (to a depth of 64). A value without any, nearly every message, costs one walk
 * and no allocation.
 */
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
