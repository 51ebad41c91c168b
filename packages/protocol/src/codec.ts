import type { ErrorObject } from "ajv";
import { Limits } from "./constants.js";
import { ErrorCode } from "./error-codes.js";
import * as generated from "./generated/validators.js";
import type { ClientMessage, ServerMessage } from "./messages.js";

/** Default cap on the size of one text frame the parsers accept (1 MiB of UTF-16 units). */
export const DEFAULT_MAX_MESSAGE_CHARS = 1024 * 1024;

/** Why a frame was refused: a stable code, a readable message and where it went wrong. */
export interface ProtocolIssue {
  /** `unknown_type` for a type this protocol does not define, `invalid_message` otherwise. */
  readonly code: typeof ErrorCode.InvalidMessage | typeof ErrorCode.UnknownType;
  /** What was expected and what came; at most `Limits.messageLength` characters. */
  readonly message: string;
  /** JSON pointer (RFC 6901) to the offending value; "" for the whole message. */
  readonly path: string;
  /** The message's `id` when it had a usable one, so the answer can be a failed `response`. */
  readonly id?: string;
  /** The message's `type` when it is one this protocol defines. */
  readonly type?: string;
}

/** A parsed message, or the issue that refused it (with the error to answer). */
export type ParseResult<T> =
  | { readonly ok: true; readonly message: T }
  | { readonly ok: false; readonly error: ProtocolIssue };

/** Limits of `parseClientMessage` and `parseServerMessage`. */
export interface ParseOptions {
  /**
   * Frames longer than this many UTF-16 code units are refused before `JSON.parse`.
   * @default 1048576
   */
  readonly maxChars?: number;
}

/** What the codec needs of a validator: Ajv's compiled functions, or the `response` dispatch. */
interface Validator {
  (value: unknown): boolean;
  errors?: ErrorObject[] | null | undefined;
}

/**
 * The validators were compiled ahead of time by Ajv's standalone code generator from the
 * schemas in messages.ts (`pnpm schema` writes src/generated/validators.ts; a test fails
 * when it is stale), so parsing never evaluates code: the codec runs under a
 * Content-Security-Policy without 'unsafe-eval' and bundles without Ajv. A message is
 * checked against the single schema its `type` names, which is both faster and gives
 * better errors than validating against the whole union.
 */
const compiled = generated as unknown as {
  readonly clientValidators: Readonly<Record<string, Validator>>;
  readonly serverValidators: Readonly<Record<string, Validator>>;
  readonly response_ok: Validator;
  readonly response_error: Validator;
};

/**
 * `response` is a union on the boolean `ok`. Ajv would try both branches and report the
 * first branch's complaint (`ok` must be true) for a broken failure; choosing the branch by
 * `ok` first reports the actual mistake and validates once.
 */
function responseValidator(): Validator {
  const succeeded = compiled.response_ok;
  const failed = compiled.response_error;
  const validate: Validator = (value) => {
    const record = value as Record<string, unknown>;
    const ok = Object.hasOwn(record, "ok") ? record.ok : undefined;
    const branch = ok === true ? succeeded : ok === false ? failed : undefined;
    if (branch) {
      const valid = branch(value);
      validate.errors = branch.errors;
      return valid;
    }
    validate.errors = [
      ok === undefined
        ? {
            keyword: "required",
            instancePath: "",
            schemaPath: "#/required",
            params: { missingProperty: "ok" },
          }
        : {
            keyword: "type",
            instancePath: "/ok",
            schemaPath: "#/properties/ok/type",
            params: { type: "boolean" },
          },
    ];
    return false;
  };
  return validate;
}

const clientValidators: ReadonlyMap<string, Validator> = new Map(
  Object.entries(compiled.clientValidators),
);
const serverValidators: ReadonlyMap<string, Validator> = new Map([
  ...Object.entries(compiled.serverValidators),
  ["response", responseValidator()],
]);

/**
 * Parses and validates one frame from a client. Never throws: anything that is not a
 * valid client message comes back as `{ ok: false, error }`. Pass text frames as strings
 * (with `ws`: `isBinary ? data : data.toString()`); anything else is refused as binary.
 */
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
  return guarded<ClientMessage>(clientValidators, value);
}

/** Validates an already-decoded value as a server message. Never throws. */
export function validateServerMessage(value: unknown): ParseResult<ServerMessage> {
  return guarded<ServerMessage>(serverValidators, value);
}

/**
 * Encodes a message as the JSON text frame the protocol sends. The required payload fields
 * (`publish.data`, `message.data`, a successful `response.result`) are typed `unknown`, so
 * `undefined` type-checks, but JSON would drop the field and the peer would refuse the
 * message: they are sent as `null` instead. Throws like `JSON.stringify` on values JSON
 * cannot encode (cycles, `BigInt`).
 */
export function serializeMessage(message: ClientMessage | ServerMessage): string {
  return JSON.stringify(withRequiredPayload(message));
}

/**
 * The message as it goes on the wire in any codec: a required payload field that is
 * `undefined` becomes `null` (see {@link serializeMessage}).
 */
export function withRequiredPayload<T extends ClientMessage | ServerMessage>(message: T): T {
  switch (message.type) {
    case "publish":
    case "message":
      if (message.data === undefined) return { ...message, data: null };
      break;
    case "response":
      if (message.ok && message.result === undefined) return { ...message, result: null };
      break;
  }
  return message;
}

function parseWith<T>(
  validators: ReadonlyMap<string, Validator>,
  raw: unknown,
  options: ParseOptions | undefined,
): ParseResult<T> {
  if (typeof raw !== "string") {
    return refuse(`expected a JSON text frame, got ${describeFrame(raw)}`, "");
  }
  const maxChars = options?.maxChars ?? DEFAULT_MAX_MESSAGE_CHARS;
  if (raw.length > maxChars) {
    return refuse(`expected at most ${maxChars} characters, got ${raw.length}`, "");
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    const reason = error instanceof Error ? ` (${clip(error.message, 120)})` : "";
    return refuse(`expected JSON text, got text that does not parse as JSON${reason}`, "");
  }
  // JSON.parse only builds plain objects, arrays and primitives, so validation cannot
  // throw here; `guarded` is for values that come from elsewhere (getters, proxies).
  return validateWith<T>(validators, value);
}

/**
 * For values that did not come from `JSON.parse`. The compiled validators read fields
 * with `.`, which sees inherited ones, so objects with a prototype other than
 * `Object.prototype` are refused up front (checking own properties inside Ajv would double
 * the cost of every parse).
 */
function guarded<T>(validators: ReadonlyMap<string, Validator>, value: unknown): ParseResult<T> {
  try {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        return refuse("expected a plain JSON object, got an object with a prototype", "");
      }
    }
    return validateWith<T>(validators, value);
  } catch (error) {
    const reason = error instanceof Error ? ` (${clip(error.message, 120)})` : "";
    return refuse(`expected a plain JSON value, got one that failed to read${reason}`, "");
  }
}

function validateWith<T>(
  validators: ReadonlyMap<string, Validator>,
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
  const validate = validators.get(type);
  if (validate === undefined) {
    return {
      ok: false,
      error: withContext(
        {
          code: ErrorCode.UnknownType,
          message: `unknown message type ${JSON.stringify(clip(type, 64))}`,
          path: "/type",
        },
        usableId(record),
        undefined,
      ),
    };
  }
  if (validate(value)) return { ok: true, message: value as T };
  const first = validate.errors?.[0];
  const issue = first
    ? describeIssue(`"${type}"`, record, first)
    : { message: `"${type}" is invalid`, path: "" };
  return {
    ok: false,
    error: withContext({ code: ErrorCode.InvalidMessage, ...issue }, usableId(record), type),
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

/**
 * Turns an Ajv error into "`subject` expects `field` to be X, got Y" with a JSON pointer.
 * Shared with contracts, whose subjects are payloads (`topic "a/b" data`).
 */
export function describeIssue(
  subject: string,
  root: unknown,
  error: ErrorObject,
): { message: string; path: string } {
  const { message, path } = describeAjvError(subject, root, error);
  return { message: clip(message, Limits.messageLength), path };
}

function describeAjvError(
  subject: string,
  root: unknown,
  error: ErrorObject,
): { message: string; path: string } {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "required") {
    const path = `${error.instancePath}/${escapePointer(String(params.missingProperty))}`;
    return { message: `${subject} requires ${quoteField(path)}`, path };
  }
  if (error.keyword === "additionalProperties") {
    const path = `${error.instancePath}/${escapePointer(String(params.additionalProperty))}`;
    return { message: `${subject} does not allow the property ${quoteField(path)}`, path };
  }
  const path = error.instancePath;
  const field = path === "" ? "the value" : quoteField(path);
  const got = describe(valueAt(root, path));
  switch (error.keyword) {
    case "type":
      return {
        message: `${subject} expects ${field} to be ${article(String(params.type))}, got ${got}`,
        path,
      };
    case "maxLength":
    case "maxItems":
    case "maxProperties":
      return {
        message: `${subject} expects ${field} to have at most ${String(params.limit)} ${unit(error.keyword)}, got ${got}`,
        path,
      };
    case "minLength":
    case "minItems":
    case "minProperties":
      return {
        message: `${subject} expects ${field} to have at least ${String(params.limit)} ${unit(error.keyword)}, got ${got}`,
        path,
      };
    case "pattern":
      return {
        message: `${subject} expects ${field} to match ${String(params.pattern)}, got ${got}`,
        path,
      };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return {
        message: `${subject} expects ${field} to be ${String(params.comparison)} ${String(params.limit)}, got ${got}`,
        path,
      };
    case "const":
      return {
        message: `${subject} expects ${field} to be ${JSON.stringify(params.allowedValue)}, got ${got}`,
        path,
      };
    default:
      return {
        message: `${subject} expects ${field} ${error.message ?? "to be valid"}, got ${got}`,
        path,
      };
  }
}

function unit(keyword: string): string {
  if (keyword.endsWith("Length")) return "characters";
  if (keyword.endsWith("Items")) return "items";
  return "properties";
}

/** `/since/offset` -> `"since.offset"`; names are clipped so a hostile key stays short. */
function quoteField(pointer: string): string {
  const field = pointer
    .slice(1)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .join(".");
  return JSON.stringify(clip(field, 64));
}

function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
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
  if (typeof value === "number") {
    return Number.isInteger(value) ? `integer ${value}` : `number ${value}`;
  }
  if (typeof value === "object") return "an object";
  return typeof value;
}

function describeFrame(raw: unknown): string {
  const tag = Object.prototype.toString.call(raw);
  if (ArrayBuffer.isView(raw) || tag === "[object ArrayBuffer]" || tag === "[object Blob]") {
    return "a binary frame";
  }
  if (Array.isArray(raw) && raw.every((part) => ArrayBuffer.isView(part))) {
    return "a binary frame (fragments)";
  }
  return describe(raw);
}

function article(typeName: string): string {
  return /^[aeiou]/.test(typeName) ? `an ${typeName}` : `a ${typeName}`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
