import type { TSchema } from "@sinclair/typebox";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { ErrorCode } from "./error-codes.js";
import {
  type ClientMessage,
  type ClientMessageType,
  clientMessageSchemas,
  Limits,
  type ServerMessage,
  type ServerMessageType,
  serverMessageSchemas,
} from "./messages.js";

/**
 * The one Ajv instance of the protocol. Validators are compiled once, at import, per
 * message type: a message is checked against the single schema its `type` names, which
 * is both faster and gives better errors than validating against the whole union.
 */
export const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });

/** Default cap on the size of one text frame the parsers accept (1 MiB of UTF-16 units). */
export const DEFAULT_MAX_MESSAGE_CHARS = 1024 * 1024;

/** Why a frame was refused: a stable code, a readable message and where it went wrong. */
export interface ProtocolIssue {
  readonly code: typeof ErrorCode.InvalidMessage | typeof ErrorCode.UnknownType;
  readonly message: string;
  /** JSON pointer (RFC 6901) to the offending value; "" for the whole message. */
  readonly path: string;
  /** The message's `id` when it had a usable one, so the answer can be a failed `response`. */
  readonly id?: string;
  /** The message's `type` when it had a string one. */
  readonly type?: string;
}

export type ParseResult<T> =
  | { readonly ok: true; readonly message: T }
  | { readonly ok: false; readonly error: ProtocolIssue };

export interface ParseOptions {
  /**
   * Frames longer than this many UTF-16 code units are refused before `JSON.parse`.
   * @default 1048576
   */
  readonly maxChars?: number;
}

/** Compiles a TypeBox schema with the protocol's Ajv instance, once. */
export function compile<T>(schema: TSchema): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

function compileAll<K extends string>(
  schemas: Readonly<Record<K, TSchema>>,
): ReadonlyMap<string, ValidateFunction> {
  const compiled = new Map<string, ValidateFunction>();
  for (const [type, schema] of Object.entries<TSchema>(schemas)) {
    compiled.set(type, ajv.compile(schema));
  }
  return compiled;
}

const clientValidators = compileAll<ClientMessageType>(clientMessageSchemas);
const serverValidators = compileAll<ServerMessageType>(serverMessageSchemas);

/** Parses and validates one frame from a client. Never throws. */
export function parseClientMessage(
  raw: unknown,
  options?: ParseOptions,
): ParseResult<ClientMessage> {
  return parseWith<ClientMessage>(clientValidators, raw, options);
}

/** Parses and validates one frame from a server. Never throws. */
export function parseServerMessage(
  raw: unknown,
  options?: ParseOptions,
): ParseResult<ServerMessage> {
  return parseWith<ServerMessage>(serverValidators, raw, options);
}

/** Validates an already-decoded value as a client message. Never throws. */
export function validateClientMessage(value: unknown): ParseResult<ClientMessage> {
  return validateWith<ClientMessage>(clientValidators, value);
}

/** Validates an already-decoded value as a server message. Never throws. */
export function validateServerMessage(value: unknown): ParseResult<ServerMessage> {
  return validateWith<ServerMessage>(serverValidators, value);
}

/** Encodes a message as the JSON text frame the protocol sends. */
export function serializeMessage(message: ClientMessage | ServerMessage): string {
  return JSON.stringify(message);
}

function parseWith<T>(
  validators: ReadonlyMap<string, ValidateFunction>,
  raw: unknown,
  options: ParseOptions | undefined,
): ParseResult<T> {
  if (typeof raw !== "string") {
    return refuse("expected a JSON text frame, got a binary frame", "");
  }
  const maxChars = options?.maxChars ?? DEFAULT_MAX_MESSAGE_CHARS;
  if (raw.length > maxChars) {
    return refuse(`expected at most ${maxChars} characters, got ${raw.length}`, "");
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return refuse("expected a JSON text, got text that does not parse as JSON", "");
  }
  return validateWith<T>(validators, value);
}

function validateWith<T>(
  validators: ReadonlyMap<string, ValidateFunction>,
  value: unknown,
): ParseResult<T> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return refuse(`expected a JSON object, got ${describe(value)}`, "");
  }
  const record = value as Record<string, unknown>;
  const type = Object.hasOwn(record, "type") ? record.type : undefined;
  if (typeof type !== "string") {
    return refuse(`expected "type" to be a string, got ${describe(type)}`, "/type");
  }
  const id = usableId(record);
  const validate = validators.get(type);
  if (!validate) {
    return {
      ok: false,
      error: withContext(
        {
          code: ErrorCode.UnknownType,
          message: `unknown message type "${clip(type)}"`,
          path: "/type",
        },
        id,
        undefined,
      ),
    };
  }
  if (validate(value)) return { ok: true, message: value as T };
  const first = validate.errors?.[0];
  const issue = first
    ? describeIssue(type, record, first)
    : { message: `"${type}" is invalid`, path: "" };
  return {
    ok: false,
    error: withContext({ code: ErrorCode.InvalidMessage, ...issue }, id, type),
  };
}

function refuse(message: string, path: string): { ok: false; error: ProtocolIssue } {
  return { ok: false, error: { code: ErrorCode.InvalidMessage, message, path } };
}

function withContext(
  issue: ProtocolIssue,
  id: string | undefined,
  type: string | undefined,
): ProtocolIssue {
  if (id === undefined && type === undefined) return issue;
  return {
    ...issue,
    ...(id === undefined ? {} : { id }),
    ...(type === undefined ? {} : { type }),
  };
}

function usableId(record: Record<string, unknown>): string | undefined {
  const id = Object.hasOwn(record, "id") ? record.id : undefined;
  return typeof id === "string" && id.length > 0 && id.length <= Limits.idLength ? id : undefined;
}

/** Turns the first Ajv error into "`type` expects `field` to be X, got Y". */
function describeIssue(
  type: string,
  message: Record<string, unknown>,
  error: ErrorObject,
): { message: string; path: string } {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "required") {
    const path = `${error.instancePath}/${String(params.missingProperty)}`;
    return { message: `"${type}" requires "${pointerToField(path)}"`, path };
  }
  if (error.keyword === "additionalProperties") {
    const path = `${error.instancePath}/${String(params.additionalProperty)}`;
    return {
      message: `"${type}" does not allow the property "${clip(pointerToField(path))}"`,
      path,
    };
  }
  const path = error.instancePath;
  const field = pointerToField(path);
  const got = describe(valueAt(message, path));
  switch (error.keyword) {
    case "type":
      return {
        message: `"${type}" expects "${field}" to be ${article(String(params.type))}, got ${got}`,
        path,
      };
    case "maxLength":
    case "maxItems":
      return {
        message: `"${type}" expects "${field}" to have at most ${String(params.limit)} ${error.keyword === "maxLength" ? "characters" : "items"}, got ${got}`,
        path,
      };
    case "minLength":
      return { message: `"${type}" expects "${field}" to be a non-empty string, got ${got}`, path };
    case "pattern":
      return {
        message: `"${type}" expects "${field}" to match ${String(params.pattern)}, got ${got}`,
        path,
      };
    case "minimum":
    case "maximum":
      return {
        message: `"${type}" expects "${field}" to be ${error.keyword === "minimum" ? "at least" : "at most"} ${String(params.limit)}, got ${got}`,
        path,
      };
    case "const":
      return {
        message: `"${type}" expects "${field}" to be ${JSON.stringify(params.allowedValue)}, got ${got}`,
        path,
      };
    default:
      return {
        message: `"${type}" expects "${field}" ${error.message ?? "to be valid"}, got ${got}`,
        path,
      };
  }
}

function pointerToField(pointer: string): string {
  return pointer
    .slice(1)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .join(".");
}

function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === "") return root;
  let current = root;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, key)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    return value.length > 32 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (typeof value === "number")
    return Number.isInteger(value) ? `integer ${value}` : `number ${value}`;
  if (typeof value === "object") return "an object";
  return typeof value;
}

function article(typeName: string): string {
  return /^[aeiou]/.test(typeName) ? `an ${typeName}` : `a ${typeName}`;
}

function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}
