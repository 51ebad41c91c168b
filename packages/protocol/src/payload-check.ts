import { FormatRegistry, Kind, type TSchema } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import type { ErrorObject } from "ajv";

/**
 * A payload validator as Ajv compiles one: true or false, and on false the first reason in
 * `errors` (Ajv's `ErrorObject`: `keyword`, `instancePath`, `params`).
 */
export interface PayloadValidator {
  (value: unknown): boolean;
  /** Ajv's errors of the last call, when it returned false. */
  errors?: readonly ErrorObject[] | null | undefined;
}

/**
 * TypeBox kinds a JSON payload can satisfy. `Date`, `Uint8Array`, `BigInt`, `Undefined`,
 * functions and the like describe values `JSON.parse` never produces; Ajv refuses to compile
 * them, and so does `defineContract` here, when the contract is defined.
 */
const JSON_KINDS = new Set([
  "Any",
  "Array",
  "Boolean",
  "Import",
  "Integer",
  "Intersect",
  "Literal",
  "Never",
  "Not",
  "Null",
  "Number",
  "Object",
  "Record",
  "Ref",
  "String",
  "TemplateLiteral",
  "This",
  "Tuple",
  "Union",
  "Unknown",
]);

/**
 * Checks payloads with TypeBox's `Value.Check`, which walks the schema instead of
 * generating code: it never uses `eval` or `new Function`, so contracts work under a
 * Content-Security-Policy without 'unsafe-eval', at a few times the cost of an Ajv-compiled
 * validator. Throws a `TypeError` for a schema it could not check correctly: one that is not
 * a TypeBox schema (plain JSON Schema needs `compile` from `@lifeline/protocol/ajv`), a
 * non-JSON type, or a string `format` that is not in TypeBox's `FormatRegistry`.
 */
export function valueValidator(schema: TSchema): PayloadValidator {
  assertJsonSchema(schema, "");
  const validate: PayloadValidator = (value) => {
    if (Value.Check(schema, value)) {
      validate.errors = null;
      return true;
    }
    const first = Value.Errors(schema, value).First();
    validate.errors = first ? [toErrorObject(first)] : null;
    return false;
  };
  return validate;
}

function assertJsonSchema(schema: unknown, at: string): void {
  if (typeof schema !== "object" || schema === null) return;
  const node = schema as Record<string | symbol, unknown>;
  const kind = node[Kind];
  const where = at === "" ? "" : ` at ${at}`;
  if (typeof kind !== "string") {
    throw new TypeError(
      `defineContract expects TypeBox schemas, got a plain object${where} (for plain JSON Schema pass { compile } from "@lifeline/protocol/ajv")`,
    );
  }
  if (!JSON_KINDS.has(kind)) {
    throw new TypeError(`defineContract expects JSON types, got Type.${kind}()${where}`);
  }
  if (typeof node.format === "string" && !FormatRegistry.Has(node.format)) {
    throw new TypeError(
      `defineContract cannot check the string format "${node.format}"${where}: register it with TypeBox's FormatRegistry.Set, or pass { compile } from "@lifeline/protocol/ajv" with ajv-formats`,
    );
  }
  const children = (key: string, value: unknown): void => {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) assertJsonSchema(item, `${at}/${key}/${i}`);
    } else if (typeof value === "object" && value !== null) {
      assertJsonSchema(value, `${at}/${key}`);
    }
  };
  for (const key of ["items", "additionalProperties", "not", "anyOf", "allOf", "oneOf"]) {
    children(key, node[key]);
  }
  for (const key of ["properties", "patternProperties", "$defs"]) {
    const map = node[key];
    if (typeof map !== "object" || map === null) continue;
    for (const [name, child] of Object.entries(map)) children(`${key}/${name}`, child);
  }
}

const comparisons: Partial<Record<ValueErrorType, [keyword: string, comparison: string]>> = {
  [ValueErrorType.NumberMaximum]: ["maximum", "<="],
  [ValueErrorType.IntegerMaximum]: ["maximum", "<="],
  [ValueErrorType.NumberMinimum]: ["minimum", ">="],
  [ValueErrorType.IntegerMinimum]: ["minimum", ">="],
  [ValueErrorType.NumberExclusiveMaximum]: ["exclusiveMaximum", "<"],
  [ValueErrorType.IntegerExclusiveMaximum]: ["exclusiveMaximum", "<"],
  [ValueErrorType.NumberExclusiveMinimum]: ["exclusiveMinimum", ">"],
  [ValueErrorType.IntegerExclusiveMinimum]: ["exclusiveMinimum", ">"],
};

const limits: Partial<Record<ValueErrorType, [keyword: string, schemaKey: string]>> = {
  [ValueErrorType.StringMaxLength]: ["maxLength", "maxLength"],
  [ValueErrorType.StringMinLength]: ["minLength", "minLength"],
  [ValueErrorType.ArrayMaxItems]: ["maxItems", "maxItems"],
  [ValueErrorType.ArrayMinItems]: ["minItems", "minItems"],
  [ValueErrorType.ObjectMaxProperties]: ["maxProperties", "maxProperties"],
  [ValueErrorType.ObjectMinProperties]: ["minProperties", "minProperties"],
};

const types: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.Array]: "array",
  [ValueErrorType.Boolean]: "boolean",
  [ValueErrorType.Integer]: "integer",
  [ValueErrorType.Null]: "null",
  [ValueErrorType.Number]: "number",
  [ValueErrorType.Object]: "object",
  [ValueErrorType.String]: "string",
};

/** TypeBox's error as the Ajv error the codec's wording (`describeIssue`) understands. */
function toErrorObject(error: ValueError): ErrorObject {
  const schema = error.schema as Record<string, unknown>;
  const base = { instancePath: error.path, schemaPath: "", params: {} };
  const type = types[error.type];
  if (type !== undefined) return { ...base, keyword: "type", params: { type } };
  const comparison = comparisons[error.type];
  if (comparison !== undefined) {
    const [keyword, symbol] = comparison;
    return { ...base, keyword, params: { comparison: symbol, limit: schema[keyword] } };
  }
  const limit = limits[error.type];
  if (limit !== undefined) {
    const [keyword, key] = limit;
    return { ...base, keyword, params: { limit: schema[key] } };
  }
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
    case ValueErrorType.ObjectAdditionalProperties: {
      const cut = error.path.lastIndexOf("/");
      const key = error.path
        .slice(cut + 1)
        .replaceAll("~1", "/")
        .replaceAll("~0", "~");
      return error.type === ValueErrorType.ObjectRequiredProperty
        ? {
            ...base,
            instancePath: error.path.slice(0, cut),
            keyword: "required",
            params: { missingProperty: key },
          }
        : {
            ...base,
            instancePath: error.path.slice(0, cut),
            keyword: "additionalProperties",
            params: { additionalProperty: key },
          };
    }
    case ValueErrorType.StringPattern:
      return { ...base, keyword: "pattern", params: { pattern: schema.pattern } };
    case ValueErrorType.Literal:
      return { ...base, keyword: "const", params: { allowedValue: schema.const } };
    case ValueErrorType.Union:
      return { ...base, keyword: "anyOf", message: "to match one of its schemas" };
    default:
      return { ...base, keyword: "typebox", message: `to be valid (${error.message})` };
  }
}
