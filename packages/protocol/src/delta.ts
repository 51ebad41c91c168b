/**
 * Delta messages (PROTOCOL.md, "Deltas"): a topic whose messages describe the state of
 * keyed objects sends either a key's whole state or only what changed, as a JSON Merge
 * Patch (RFC 7386). This is an application payload convention, not a wire message: any
 * subscriber that has seen one full state of a key rebuilds every later one.
 */

/** A key's whole state. */
export interface DeltaFull<T = unknown> {
  /** The key whose state this is. */
  readonly key: string;
  /** The key's whole state, replacing whatever was held for it. */
  readonly full: T;
}

/**
 * What changed in a key's state, as a JSON Merge Patch (RFC 7386): an object merges into
 * the state property by property, recursively; `null` deletes a property; anything else
 * (arrays included) replaces it. A property therefore cannot be set to `null` by a patch:
 * send a full state for that.
 */
export interface DeltaChanges {
  /** The key whose state changed. */
  readonly key: string;
  /** The merge patch to apply to the key's current state. */
  readonly changes: Readonly<Record<string, unknown>>;
}

/** The data of one message of a delta topic. */
export type DeltaMessage<T = unknown> = DeltaFull<T> | DeltaChanges;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Applies a JSON Merge Patch (RFC 7386, section 2) without touching `target`: the result
 * shares every part the patch leaves alone and copies the objects along changed paths, so
 * a view can compare states by reference.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = applyMergePatch(result[name], value);
  }
  return result;
}

/**
 * Reads the data of a delta topic's message; undefined when it is neither `{key, full}`
 * nor `{key, changes}` (with a string key and an object of changes).
 */
export function readDelta(data: unknown): DeltaMessage | undefined {
  if (!isPlainObject(data) || typeof data.key !== "string") return undefined;
  if ("full" in data && !("changes" in data)) return data as unknown as DeltaFull;
  if ("changes" in data && !("full" in data) && isPlainObject(data.changes)) {
    return data as unknown as DeltaChanges;
  }
  return undefined;
}

/**
 * The changes `T` accepts as a JSON Merge Patch: any subset of its properties, objects
 * patched recursively, `null` to delete an optional property, arrays replaced whole.
 */
export type MergePatch<T> = T extends readonly unknown[]
  ? T
  : T extends Record<string, unknown>
    ? { readonly [K in keyof T]?: MergePatch<T[K]> | (undefined extends T[K] ? null : never) }
    : T;

/** The state type of a delta topic whose data is `DeltaMessage<T>`. */
export type DeltaStateOf<D> = D extends { readonly full: infer T } ? T : unknown;
