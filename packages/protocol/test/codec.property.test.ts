import { Ajv } from "ajv";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  type ClientMessage,
  clientMessageSchemas,
  ErrorCode,
  Limits,
  type ParseResult,
  parseClientMessage,
  parseServerMessage,
  type ServerMessage,
  serverMessageSchemas,
  toJsonSchema,
} from "../src/index.js";

/**
 * The oracle: a validator built from the exported JSON Schema alone, independent of the
 * codec's type dispatch. A message the codec accepts must pass it; a JSON value the codec
 * refuses must fail it.
 */
const document = toJsonSchema();
// strictNumbers: JSON like 1e400 decodes to Infinity, which no integer or number field takes.
const oracleAjv = new Ajv({ strict: false, strictNumbers: true });
oracleAjv.opts.unicode = false; // the protocol counts UTF-16 units, like the codec
oracleAjv.addSchema(document);
const oracle = (name: "ClientMessage" | "ServerMessage") => {
  const validate = oracleAjv.getSchema(`${String(document.$id)}#/definitions/${name}`);
  if (!validate) throw new Error(`no ${name} in the exported schema`);
  return (value: unknown) => validate(value) === true;
};

interface Side {
  readonly name: string;
  readonly parse: (raw: unknown) => ParseResult<ClientMessage | ServerMessage>;
  readonly accepts: (value: unknown) => boolean;
  readonly types: ReadonlySet<string>;
}

const sides: readonly Side[] = [
  {
    name: "client",
    parse: parseClientMessage,
    accepts: oracle("ClientMessage"),
    types: new Set(Object.keys(clientMessageSchemas)),
  },
  {
    name: "server",
    parse: parseServerMessage,
    accepts: oracle("ServerMessage"),
    types: new Set(Object.keys(serverMessageSchemas)),
  },
];

function decode(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function parentExists(root: unknown, pointer: string): boolean {
  const parts = pointer.slice(1).split("/").slice(0, -1);
  let current = root;
  for (const raw of parts) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, key)) {
      return false;
    }
    current = (current as Record<string, unknown>)[key];
  }
  return typeof current === "object" && current !== null;
}

/** The property every input must satisfy, whatever it is. */
function checkOutcome(side: Side, raw: unknown): void {
  let result: ParseResult<unknown> | undefined;
  expect(() => {
    result = side.parse(raw);
  }).not.toThrow();
  if (!result) throw new Error("unreachable");
  const decoded = typeof raw === "string" ? decode(raw) : { ok: false as const };

  if (result.ok) {
    expect(side.accepts(result.message)).toBe(true);
    return;
  }
  const { error } = result;
  expect([ErrorCode.InvalidMessage, ErrorCode.UnknownType]).toContain(error.code);
  expect(typeof error.message).toBe("string");
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.message.length).toBeLessThanOrEqual(Limits.messageLength);
  expect(error.path === "" || error.path.startsWith("/")).toBe(true);
  if (!decoded.ok) {
    expect(error.path).toBe("");
    return;
  }
  expect(side.accepts(decoded.value)).toBe(false);
  const record = decoded.value as Record<string, unknown>;
  if (error.path !== "") expect(parentExists(decoded.value, error.path)).toBe(true);
  if (error.id !== undefined) {
    expect(error.id).toBe(record.id);
    expect(error.id.length).toBeGreaterThan(0);
    expect(error.id.length).toBeLessThanOrEqual(Limits.idLength);
  }
  if (error.type !== undefined) {
    expect(side.types.has(error.type)).toBe(true);
    expect(record.type).toBe(error.type);
  }
  if (error.code === ErrorCode.UnknownType) {
    expect(typeof record.type).toBe("string");
    expect(side.types.has(record.type as string)).toBe(false);
  }
}

const segment = fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,8}$/);
const topic = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/"));
const id = fc.string({ minLength: 1, maxLength: Limits.idLength, unit: "binary" });
const epoch = fc.string({ minLength: 1, maxLength: Limits.epochLength });
const offset = fc.nat();
const data = fc.jsonValue({ maxDepth: 3 });
const shortText = (max: number) => fc.string({ maxLength: max });
const method = fc.stringMatching(/^[A-Za-z0-9_.:/-]{1,32}$/);

const clientMessage: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    {
      type: fc.constant("subscribe"),
      id,
      topic,
      since: fc.record({ offset, epoch }),
    },
    { requiredKeys: ["type", "id", "topic"] },
  ),
  fc.record({ type: fc.constant("unsubscribe"), id, topic }),
  fc.record({ type: fc.constant("publish"), id, topic, data }),
  fc.record(
    {
      type: fc.constant("request"),
      id,
      method,
      params: data,
      timeout_ms: fc.integer({ min: 1, max: 3_600_000 }),
    },
    { requiredKeys: ["type", "id", "method"] },
  ),
  fc.constant({ type: "ping" }),
  fc.constant({ type: "pong" }),
);

const serverMessage: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({
    type: fc.constant("hello"),
    server_time: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    accepted_version: fc.constant(1),
    features: fc.array(shortText(64), { maxLength: 8 }),
    request_id: shortText(Limits.idLength),
    client_id: shortText(Limits.idLength),
    connection_id: shortText(Limits.idLength),
    heartbeat_interval_ms: fc.nat(),
  }),
  fc.record({
    type: fc.constant("subscribed"),
    id,
    topic,
    offset,
    epoch,
    recovered: fc.boolean(),
    replayed: fc.nat(),
  }),
  fc.record({ type: fc.constant("unsubscribed"), id, topic }),
  fc.record({
    type: fc.constant("message"),
    topic,
    offset,
    epoch,
    data,
    ts: fc.double({ noNaN: true, noDefaultInfinity: true }),
  }),
  fc.record({ type: fc.constant("response"), id, ok: fc.constant(true), result: data }),
  fc.record({
    type: fc.constant("response"),
    id,
    ok: fc.constant(false),
    error: fc.record({ code: shortText(64), message: shortText(200) }),
  }),
  fc.record(
    { type: fc.constant("error"), code: shortText(64), message: shortText(200), id },
    { requiredKeys: ["type", "code", "message"] },
  ),
  fc.record({
    type: fc.constant("shutdown"),
    reason: shortText(Limits.reasonLength),
    reconnect_after_ms: fc.nat(),
  }),
  fc.constant({ type: "ping" }),
  fc.constant({ type: "pong" }),
);

const fieldName = fc.oneof(
  fc.constantFrom(
    "type",
    "id",
    "topic",
    "since",
    "data",
    "method",
    "params",
    "timeout_ms",
    "offset",
    "epoch",
    "ok",
    "result",
    "error",
    "code",
    "message",
    "features",
    "__proto__",
    "constructor",
    "prototype",
  ),
  fc.string({ maxLength: 12 }),
);
const anyType = fc.oneof(
  fc.constantFrom(
    ...new Set([...Object.keys(clientMessageSchemas), ...Object.keys(serverMessageSchemas)]),
  ),
  fc.string({ maxLength: 12 }),
  fc.jsonValue({ maxDepth: 1 }),
);

type Mutation =
  | { kind: "delete"; key: string }
  | { kind: "set"; key: string; value: unknown }
  | { kind: "retype"; value: unknown }
  | { kind: "nest"; key: string; value: unknown }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "wrap" };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), key: fieldName }),
  fc.record({
    kind: fc.constant("set" as const),
    key: fieldName,
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({ kind: fc.constant("retype" as const), value: anyType }),
  fc.record({
    kind: fc.constant("nest" as const),
    key: fieldName,
    value: fc.jsonValue({ maxDepth: 1 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.string({ maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant("wrap" as const) }),
);

/** Applies mutations to a copy of a message; returns the frame text to parse. */
function mutate(message: Record<string, unknown>, mutations: readonly Mutation[]): string {
  let value: unknown = structuredClone(message);
  let text: string | undefined;
  for (const m of mutations) {
    if (text !== undefined) {
      if (m.kind === "truncate") text = text.slice(0, m.at % (text.length + 1));
      if (m.kind === "insert") {
        const at = m.at % (text.length + 1);
        text = text.slice(0, at) + m.text + text.slice(at);
      }
      continue;
    }
    const record = value as Record<string, unknown>;
    const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
    switch (m.kind) {
      case "delete":
        if (isObject) delete record[m.key];
        break;
      case "set":
        if (isObject) {
          Object.defineProperty(record, m.key, {
            value: m.value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        break;
      case "retype":
        if (isObject) record.type = m.value;
        break;
      case "nest": {
        const inner =
          typeof value === "object" && value !== null
            ? Object.values(record).find(
                (v) => typeof v === "object" && v !== null && !Array.isArray(v),
              )
            : undefined;
        if (inner) {
          Object.defineProperty(inner, m.key, {
            value: m.value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        break;
      }
      case "wrap":
        value = [value];
        break;
      case "truncate":
      case "insert":
        text = JSON.stringify(value) ?? "";
        if (m.kind === "truncate") text = text.slice(0, m.at % (text.length + 1));
        else {
          const at = m.at % (text.length + 1);
          text = text.slice(0, at) + m.text + text.slice(at);
        }
        break;
    }
  }
  return text ?? JSON.stringify(value) ?? "";
}

const runs = { numRuns: 1000 };

describe.each(sides)("$name parser", (side) => {
  test("never throws on arbitrary strings and answers with a valid message or a structured error", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" })),
        (text) => {
          checkOutcome(side, text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("never throws on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        checkOutcome(side, JSON.stringify(value));
      }),
      runs,
    );
  });

  test("never throws on objects with a plausible type and arbitrary fields", () => {
    fc.assert(
      fc.property(
        anyType,
        fc.dictionary(fieldName, fc.jsonValue({ maxDepth: 2 })),
        (type, fields) => {
          checkOutcome(side, JSON.stringify({ ...fields, type }));
        },
      ),
      runs,
    );
  });

  test("never throws on non-string frames", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array().map((bytes) => Buffer.from(bytes)),
          fc.uint8Array().map((bytes) => bytes.buffer),
          fc.uint8Array(),
          fc.anything(),
        ),
        (frame) => {
          checkOutcome(side, frame);
        },
      ),
      runs,
    );
  });
});

describe("generated valid messages", () => {
  test("every generated client message parses to itself", () => {
    fc.assert(
      fc.property(clientMessage, (message) => {
        const result = parseClientMessage(JSON.stringify(message));
        expect(result).toEqual({ ok: true, message: JSON.parse(JSON.stringify(message)) });
      }),
      runs,
    );
  });

  test("every generated server message parses to itself", () => {
    fc.assert(
      fc.property(serverMessage, (message) => {
        const result = parseServerMessage(JSON.stringify(message));
        expect(result).toEqual({ ok: true, message: JSON.parse(JSON.stringify(message)) });
      }),
      runs,
    );
  });

  test("mutations of valid client messages never throw and stay consistent with the schema", () => {
    fc.assert(
      fc.property(
        clientMessage,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (message, ms) => {
          checkOutcome(sides[0]!, mutate(message, ms));
        },
      ),
      { numRuns: 3000 },
    );
  });

  test("mutations of valid server messages never throw and stay consistent with the schema", () => {
    fc.assert(
      fc.property(
        serverMessage,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (message, ms) => {
          checkOutcome(sides[1]!, mutate(message, ms));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

test("deeply nested JSON neither throws nor overflows the stack", () => {
  const depth = 100_000;
  const nested = `${"[".repeat(depth)}${"]".repeat(depth)}`;
  for (const side of sides) {
    checkOutcome(side, nested);
    checkOutcome(side, `{"type":"publish","id":"1","topic":"a","data":${nested}}`);
    checkOutcome(side, "[".repeat(depth));
  }
  expect(parseClientMessage(`{"type":"publish","id":"1","topic":"a","data":${nested}}`).ok).toBe(
    true,
  );
});
