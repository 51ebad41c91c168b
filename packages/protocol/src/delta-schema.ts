import { type Static, type TSchema, Type } from "@sinclair/typebox";

/**
 * The TypeBox schema of a delta topic's data (PROTOCOL.md, "Deltas") whose state is
 * `state`: `{key, full}` checked against `state`, or `{key, changes}` with any object of
 * changes (a merge patch is checked where it is merged: the server validates the merged
 * state before it publishes).
 */
export function DeltaSchema<T extends TSchema>(state: T) {
  const key = Type.String({ minLength: 1, description: "The key whose state this is." });
  return Type.Union([
    Type.Object({ key, full: state }, { additionalProperties: false }),
    Type.Object(
      { key, changes: Type.Record(Type.String(), Type.Unknown()) },
      { additionalProperties: false },
    ),
  ]);
}

/** The data type of `DeltaSchema(state)`. */
export type DeltaSchemaData<T extends TSchema> = Static<ReturnType<typeof DeltaSchema<T>>>;
