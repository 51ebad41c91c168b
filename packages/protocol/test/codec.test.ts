import { describe, expect, expectTypeOf, test } from "vitest";
import {
  type ClientMessage,
  DEFAULT_MAX_MESSAGE_CHARS,
  ErrorCode,
  Limits,
  type ParseResult,
  type PublishMessage,
  parseClientMessage,
  parseServerMessage,
  type ResponseError,
  type ServerMessage,
  serializeMessage,
  validateClientMessage,
  validateServerMessage,
} from "../src/index.js";
import { longString, validClientMessages, validServerMessages } from "./fixtures.js";

const client = (value: unknown) => parseClientMessage(JSON.stringify(value));
const server = (value: unknown) => parseServerMessage(JSON.stringify(value));

describe("valid messages", () => {
  test.each(validClientMessages.map((m) => [JSON.stringify(m), m] as const))(
    "client %s parses to itself",
    (text, message) => {
      expect(parseClientMessage(text)).toEqual({ ok: true, message });
    },
  );

  test.each(validServerMessages.map((m) => [JSON.stringify(m), m] as const))(
    "server %s parses to itself",
    (text, message) => {
      expect(parseServerMessage(text)).toEqual({ ok: true, message });
    },
  );

  test("serializeMessage round-trips every message", () => {
    for (const message of validClientMessages) {
      expect(parseClientMessage(serializeMessage(message))).toEqual({ ok: true, message });
    }
    for (const message of validServerMessages) {
      expect(parseServerMessage(serializeMessage(message))).toEqual({ ok: true, message });
    }
  });

  test("serializeMessage sends an undefined payload as null so the peer accepts it", () => {
    const cases: [ClientMessage | ServerMessage, "client" | "server"][] = [
      [{ type: "publish", id: "1", topic: "a", data: undefined }, "client"],
      [{ type: "message", topic: "a", offset: 1, epoch: "e", data: undefined, ts: 1 }, "server"],
      [{ type: "response", id: "1", ok: true, result: undefined }, "server"],
    ];
    for (const [message, side] of cases) {
      const text = serializeMessage(message);
      const parsed = side === "client" ? parseClientMessage(text) : parseServerMessage(text);
      expect(parsed.ok).toBe(true);
      expect(text).toContain(":null");
    }
    const response = { type: "response", id: "1", ok: true, result: undefined } as const;
    expect(parseServerMessage(JSON.stringify(response))).toMatchObject({
      ok: false,
      error: { path: "/result" },
    });
  });

  test("accepts strings exactly at their limits", () => {
    const id = longString(Limits.idLength);
    const topic = longString(Limits.topicLength);
    expect(client({ type: "subscribe", id, topic }).ok).toBe(true);
    expect(
      server({ type: "error", code: "internal", message: longString(Limits.messageLength) }).ok,
    ).toBe(true);
    expect(
      server({ type: "shutdown", reason: longString(Limits.reasonLength), reconnect_after_ms: 0 })
        .ok,
    ).toBe(true);
  });
});

/** [what is wrong, message, JSON pointer of the complaint] */
type Case = readonly [string, Record<string, unknown>, string];

const invalidClient: readonly Case[] = [
  ["subscribe without id", { type: "subscribe", topic: "a" }, "/id"],
  ["subscribe without topic", { type: "subscribe", id: "1" }, "/topic"],
  ["subscribe with a number topic", { type: "subscribe", id: "1", topic: 5 }, "/topic"],
  ["subscribe with an empty segment", { type: "subscribe", id: "1", topic: "a//b" }, "/topic"],
  ["subscribe with a trailing slash", { type: "subscribe", id: "1", topic: "a/" }, "/topic"],
  ["subscribe with a space in topic", { type: "subscribe", id: "1", topic: "a b" }, "/topic"],
  ["subscribe with an empty topic", { type: "subscribe", id: "1", topic: "" }, "/topic"],
  [
    "subscribe with an over-long topic",
    { type: "subscribe", id: "1", topic: longString(Limits.topicLength + 1) },
    "/topic",
  ],
  ["subscribe with an empty id", { type: "subscribe", id: "", topic: "a" }, "/id"],
  [
    "subscribe with an over-long id",
    { type: "subscribe", id: longString(Limits.idLength + 1), topic: "a" },
    "/id",
  ],
  [
    "subscribe with a negative since.offset",
    { type: "subscribe", id: "1", topic: "a", since: { offset: -1, epoch: "e" } },
    "/since/offset",
  ],
  [
    "subscribe with a fractional since.offset",
    { type: "subscribe", id: "1", topic: "a", since: { offset: 1.5, epoch: "e" } },
    "/since/offset",
  ],
  [
    "history without limit",
    { type: "history", id: "1", topic: "a", direction: "forward" },
    "/limit",
  ],
  [
    "history with limit 0",
    { type: "history", id: "1", topic: "a", limit: 0, direction: "forward" },
    "/limit",
  ],
  [
    "history with an unknown direction",
    { type: "history", id: "1", topic: "a", limit: 5, direction: "sideways" },
    "/direction",
  ],
  [
    "history with a negative since.offset",
    {
      type: "history",
      id: "1",
      topic: "a",
      limit: 5,
      direction: "backward",
      since: { offset: -1, epoch: "e" },
    },
    "/since/offset",
  ],
  ["subscribe with rewind 0", { type: "subscribe", id: "1", topic: "a", rewind: 0 }, "/rewind"],
  [
    "subscribe with a negative rewind",
    { type: "subscribe", id: "1", topic: "a", rewind: -2 },
    "/rewind",
  ],
  [
    "subscribe with a fractional rewind",
    { type: "subscribe", id: "1", topic: "a", rewind: 1.5 },
    "/rewind",
  ],
  [
    "subscribe with a string rewind",
    { type: "subscribe", id: "1", topic: "a", rewind: "1" },
    "/rewind",
  ],
  [
    "subscribe with since missing epoch",
    { type: "subscribe", id: "1", topic: "a", since: { offset: 1 } },
    "/since/epoch",
  ],
  [
    "subscribe with an over-long epoch",
    {
      type: "subscribe",
      id: "1",
      topic: "a",
      since: { offset: 1, epoch: longString(Limits.epochLength + 1) },
    },
    "/since/epoch",
  ],
  [
    "subscribe with an extra since property",
    { type: "subscribe", id: "1", topic: "a", since: { offset: 1, epoch: "e", x: 1 } },
    "/since/x",
  ],
  ["subscribe with since null", { type: "subscribe", id: "1", topic: "a", since: null }, "/since"],
  ["subscribe with an extra property", { type: "subscribe", id: "1", topic: "a", x: 1 }, "/x"],
  ["unsubscribe without topic", { type: "unsubscribe", id: "1" }, "/topic"],
  ["unsubscribe with an array id", { type: "unsubscribe", id: ["1"], topic: "a" }, "/id"],
  ["publish without data", { type: "publish", id: "1", topic: "a" }, "/data"],
  ["publish with a number id", { type: "publish", id: 1, topic: "a", data: 1 }, "/id"],
  ["publish with a bad topic", { type: "publish", id: "1", topic: "/a", data: 1 }, "/topic"],
  ["request without method", { type: "request", id: "1" }, "/method"],
  ["request with a space in method", { type: "request", id: "1", method: "a b" }, "/method"],
  [
    "request with timeout_ms 0",
    { type: "request", id: "1", method: "m", timeout_ms: 0 },
    "/timeout_ms",
  ],
  [
    "request with timeout_ms over an hour",
    { type: "request", id: "1", method: "m", timeout_ms: 3_600_001 },
    "/timeout_ms",
  ],
  [
    "request with a string timeout_ms",
    { type: "request", id: "1", method: "m", timeout_ms: "5" },
    "/timeout_ms",
  ],
  ["ping with an id", { type: "ping", id: "1" }, "/id"],
  ["pong with data", { type: "pong", data: 1 }, "/data"],
];

const invalidServer: readonly Case[] = [
  [
    "hello without heartbeat_interval_ms",
    {
      type: "hello",
      server_time: "t",
      accepted_version: 1,
      features: [],
      request_id: "r",
      client_id: "c",
      connection_id: "k",
    },
    "/heartbeat_interval_ms",
  ],
  [
    "hello with accepted_version 0",
    {
      type: "hello",
      server_time: "t",
      accepted_version: 0,
      features: [],
      request_id: "r",
      client_id: "c",
      connection_id: "k",
      heartbeat_interval_ms: 1,
    },
    "/accepted_version",
  ],
  [
    "hello with too many features",
    {
      type: "hello",
      server_time: "t",
      accepted_version: 1,
      features: Array.from({ length: Limits.features + 1 }, (_, i) => `f${i}`),
      request_id: "r",
      client_id: "c",
      connection_id: "k",
      heartbeat_interval_ms: 1,
    },
    "/features",
  ],
  [
    "hello with a number feature",
    {
      type: "hello",
      server_time: "t",
      accepted_version: 1,
      features: ["a", 2],
      request_id: "r",
      client_id: "c",
      connection_id: "k",
      heartbeat_interval_ms: 1,
    },
    "/features/1",
  ],
  [
    "subscribed with a string recovered",
    {
      type: "subscribed",
      id: "1",
      topic: "a",
      offset: 0,
      epoch: "e",
      recovered: "yes",
      replayed: 0,
    },
    "/recovered",
  ],
  [
    "subscribed with negative replayed",
    {
      type: "subscribed",
      id: "1",
      topic: "a",
      offset: 0,
      epoch: "e",
      recovered: true,
      replayed: -1,
    },
    "/replayed",
  ],
  ["unsubscribed without topic", { type: "unsubscribed", id: "1" }, "/topic"],
  [
    "message with a string ts",
    { type: "message", topic: "a", offset: 1, epoch: "e", data: 1, ts: "now" },
    "/ts",
  ],
  [
    "message without offset",
    { type: "message", topic: "a", epoch: "e", data: 1, ts: 1 },
    "/offset",
  ],
  ["message without data", { type: "message", topic: "a", offset: 1, epoch: "e", ts: 1 }, "/data"],
  ["response without ok", { type: "response", id: "1", result: 1 }, "/ok"],
  ["response with a string ok", { type: "response", id: "1", ok: "true", result: 1 }, "/ok"],
  ["ok response without result", { type: "response", id: "1", ok: true }, "/result"],
  [
    "ok response with an error",
    { type: "response", id: "1", ok: true, result: 1, error: { code: "x", message: "y" } },
    "/error",
  ],
  ["failed response without error", { type: "response", id: "1", ok: false }, "/error"],
  [
    "failed response with a number code",
    { type: "response", id: "1", ok: false, error: { code: 1, message: "y" } },
    "/error/code",
  ],
  [
    "failed response with an over-long message",
    {
      type: "response",
      id: "1",
      ok: false,
      error: { code: "x", message: longString(Limits.messageLength + 1) },
    },
    "/error/message",
  ],
  ["error without code", { type: "error", message: "m" }, "/code"],
  ["error with an empty id", { type: "error", code: "c", message: "m", id: "" }, "/id"],
  [
    "shutdown with negative delay",
    { type: "shutdown", reason: "r", reconnect_after_ms: -1 },
    "/reconnect_after_ms",
  ],
  [
    "shutdown with an over-long reason",
    { type: "shutdown", reason: longString(Limits.reasonLength + 1), reconnect_after_ms: 0 },
    "/reason",
  ],
];

describe("invalid messages name the offending field with a JSON pointer", () => {
  test.each(invalidClient)("client: %s", (_, message, path) => {
    const result = client(message);
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidMessage, path } });
    if (!result.ok) expect(result.error.type).toBe(message.type);
  });

  test.each(invalidServer)("server: %s", (_, message, path) => {
    const result = server(message);
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidMessage, path } });
    if (!result.ok) expect(result.error.type).toBe(message.type);
  });

  test("says what was expected and what came", () => {
    const cases: [ParseResult<unknown>, string][] = [
      [
        client({ type: "subscribe", id: "1", topic: 5 }),
        '"subscribe" expects "topic" to be a string, got integer 5',
      ],
      [client({ type: "subscribe", topic: "a" }), '"subscribe" requires "id"'],
      [
        client({ type: "subscribe", id: "1", topic: "a", since: { offset: -1, epoch: "e" } }),
        '"subscribe" expects "since.offset" to be >= 0, got integer -1',
      ],
      [
        client({ type: "subscribe", id: "1", topic: "a", rewind: 0 }),
        '"subscribe" expects "rewind" to be >= 1, got integer 0',
      ],
      [
        client({ type: "request", id: "1", method: "m", timeout_ms: 1.5 }),
        '"request" expects "timeout_ms" to be an integer, got number 1.5',
      ],
      [
        client({ type: "publish", id: "1", topic: "a", data: 1, extra: true }),
        '"publish" does not allow the property "extra"',
      ],
      [
        client({ type: "subscribe", id: longString(129), topic: "a" }),
        '"subscribe" expects "id" to have at most 128 characters, got a string of 129 characters',
      ],
      [
        server({ type: "response", id: "1", ok: "yes" }),
        '"response" expects "ok" to be a boolean, got "yes"',
      ],
      [server({ type: "response", id: "1" }), '"response" requires "ok"'],
      [
        server({ type: "response", id: "1", ok: false, error: { code: "x" } }),
        '"response" requires "error.message"',
      ],
    ];
    for (const [result, message] of cases) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.message).toBe(message);
    }
  });

  test("escapes property names in pointers (RFC 6901)", () => {
    expect(client({ type: "ping", "a/b": 1 })).toMatchObject({ error: { path: "/a~1b" } });
    expect(client({ type: "ping", "m~n": 1 })).toMatchObject({ error: { path: "/m~0n" } });
  });

  test("keeps a usable id so the server can answer with a failed response", () => {
    expect(client({ type: "publish", id: "p-9", topic: "a" })).toMatchObject({
      ok: false,
      error: { id: "p-9", type: "publish", path: "/data" },
    });
  });

  test("drops an unusable id", () => {
    for (const id of [7, "", longString(Limits.idLength + 1), null, { x: 1 }]) {
      const result = client({ type: "publish", id, topic: "a", data: 1 });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).not.toHaveProperty("id");
    }
  });

  test("clips hostile property names and long values in messages", () => {
    const result = client({ type: "ping", [longString(10_000)]: 1 });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message.length).toBeLessThanOrEqual(200);
      expect(result.error.path).toHaveLength(10_001);
    }
  });
});

describe("type", () => {
  test.each([
    ["missing", {}],
    ["a number", { type: 1 }],
    ["null", { type: null }],
    ["an array", { type: ["ping"] }],
  ])("refuses a %s type as invalid_message at /type", (_, message) => {
    expect(client(message)).toEqual({
      ok: false,
      error: { code: "invalid_message", path: "/type", message: expect.any(String) },
    });
  });

  test("refuses an unknown type with unknown_type, keeping a usable id", () => {
    expect(client({ type: "teleport", id: "t-1" })).toEqual({
      ok: false,
      error: {
        code: "unknown_type",
        path: "/type",
        message: 'unknown message type "teleport"',
        id: "t-1",
      },
    });
  });

  test.each(["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"])(
    "treats the Object.prototype name %s as an unknown type",
    (type) => {
      expect(client({ type })).toMatchObject({ ok: false, error: { code: "unknown_type" } });
      expect(server({ type })).toMatchObject({ ok: false, error: { code: "unknown_type" } });
    },
  );

  test("server-only types are unknown to the client parser and the reverse", () => {
    expect(server(validClientMessages[0])).toMatchObject({ error: { code: "unknown_type" } });
    expect(client(validServerMessages[0])).toMatchObject({ error: { code: "unknown_type" } });
  });

  test("clips a huge unknown type in the message", () => {
    const result = client({ type: longString(100_000) });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message.length).toBeLessThan(100);
  });
});

describe("frames that are not a JSON object", () => {
  test.each([
    "",
    " ",
    "{",
    "nope",
    "{'type':'ping'}",
    '{"type":"ping",}',
    "\u0000",
    "NaN",
    "undefined",
  ])("refuses non-JSON text %j", (text) => {
    const result = parseClientMessage(text);
    expect(result).toMatchObject({ ok: false, error: { code: "invalid_message", path: "" } });
    if (!result.ok) expect(result.error.message).toMatch(/^expected JSON text/);
  });

  test.each(["null", "1", "-0.5", '"ping"', "true", "[]", '[{"type":"ping"}]'])(
    "refuses the JSON non-object %s",
    (text) => {
      const result = parseServerMessage(text);
      expect(result).toMatchObject({ ok: false, error: { code: "invalid_message", path: "" } });
      if (!result.ok) expect(result.error.message).toMatch(/^expected a JSON object, got /);
    },
  );

  test.each([
    ["a Buffer", Buffer.from('{"type":"ping"}')],
    ["an ArrayBuffer", new TextEncoder().encode('{"type":"ping"}').buffer],
    ["a Uint8Array", new TextEncoder().encode('{"type":"ping"}')],
    ["a DataView", new DataView(new ArrayBuffer(4))],
    ["fragments", [Buffer.from('{"type":'), Buffer.from('"ping"}')]],
  ])("refuses a binary frame (%s)", (_, frame) => {
    for (const parse of [parseClientMessage, parseServerMessage]) {
      const result = parse(frame);
      expect(result).toMatchObject({ ok: false, error: { code: "invalid_message", path: "" } });
      if (!result.ok) expect(result.error.message).toMatch(/binary frame/);
    }
  });

  test.each([
    ["undefined", undefined],
    ["null", null],
    ["a number", 42],
    ["an already-decoded object", { type: "ping" }],
  ])("refuses %s passed as a frame", (_, frame) => {
    expect(parseClientMessage(frame)).toMatchObject({
      ok: false,
      error: { code: "invalid_message", path: "" },
    });
  });
});

test("refuses numbers that overflow to Infinity (1e400)", () => {
  const text = '{"type":"message","topic":"a","offset":1,"epoch":"e","data":1,"ts":1e400}';
  expect(parseServerMessage(text)).toMatchObject({ ok: false, error: { path: "/ts" } });
  const offset = '{"type":"subscribe","id":"1","topic":"a","since":{"offset":1e400,"epoch":"e"}}';
  expect(parseClientMessage(offset)).toMatchObject({ ok: false, error: { path: "/since/offset" } });
});

describe("size", () => {
  test("refuses a frame over maxChars before parsing it", () => {
    const text = JSON.stringify({ type: "publish", id: "1", topic: "a", data: "x".repeat(100) });
    expect(parseClientMessage(text, { maxChars: text.length }).ok).toBe(true);
    const result = parseClientMessage(text, { maxChars: text.length - 1 });
    expect(result).toEqual({
      ok: false,
      error: {
        code: "invalid_message",
        path: "",
        message: `expected at most ${text.length - 1} characters, got ${text.length}`,
      },
    });
  });

  test("defaults maxChars to 1 MiB", () => {
    expect(DEFAULT_MAX_MESSAGE_CHARS).toBe(1024 * 1024);
    const data = "x".repeat(DEFAULT_MAX_MESSAGE_CHARS);
    const result = client({ type: "publish", id: "1", topic: "a", data });
    expect(result).toMatchObject({ ok: false, error: { path: "" } });
    if (!result.ok) expect(result.error.message).toMatch(/^expected at most 1048576 characters/);
  });
});

describe("prototype pollution", () => {
  test("a __proto__ key is an own property that the schema refuses", () => {
    const result = parseClientMessage('{"type":"ping","__proto__":{"polluted":true}}');
    expect(result).toMatchObject({ ok: false, error: { path: "/__proto__" } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("a nested __proto__ or constructor key is refused where the schema is closed", () => {
    expect(
      parseClientMessage(
        '{"type":"subscribe","id":"1","topic":"a","since":{"offset":1,"epoch":"e","__proto__":{"x":1}}}',
      ),
    ).toMatchObject({ ok: false, error: { path: "/since/__proto__" } });
    expect(
      parseClientMessage(
        '{"type":"subscribe","id":"1","topic":"a","constructor":{"prototype":{"x":1}}}',
      ),
    ).toMatchObject({ ok: false, error: { path: "/constructor" } });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test("__proto__ inside application data stays inert data", () => {
    const result = parseClientMessage(
      '{"type":"publish","id":"1","topic":"a","data":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}',
    );
    expect(result.ok).toBe(true);
    if (result.ok && result.message.type === "publish") {
      const data = result.message.data as object;
      expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
      expect(Object.hasOwn(data, "__proto__")).toBe(true);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  test("inherited properties do not count as fields", () => {
    const inherited = Object.create({ type: "ping" }) as object;
    expect(validateClientMessage(inherited)).toMatchObject({ ok: false, error: { path: "" } });
    const publish = Object.assign(Object.create({ data: 1 }) as object, {
      type: "publish",
      id: "1",
      topic: "a",
    });
    expect(validateClientMessage(publish)).toEqual({
      ok: false,
      error: {
        code: "invalid_message",
        path: "",
        message: "expected a plain JSON object, got an object with a prototype",
      },
    });
    const bare = Object.assign(Object.create(null) as object, { type: "ping" });
    expect(validateClientMessage(bare)).toEqual({ ok: true, message: { type: "ping" } });
  });
});

describe("validate* on decoded values", () => {
  test("accepts valid values and refuses others like the parsers", () => {
    for (const message of validClientMessages) {
      expect(validateClientMessage(structuredClone(message))).toEqual({ ok: true, message });
    }
    for (const message of validServerMessages) {
      expect(validateServerMessage(structuredClone(message))).toEqual({ ok: true, message });
    }
    expect(validateClientMessage(null)).toMatchObject({ ok: false, error: { path: "" } });
    expect(validateServerMessage("ping")).toMatchObject({ ok: false, error: { path: "" } });
  });

  test("never throws on values whose getters throw", () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error("boom");
        },
        has() {
          throw new Error("boom");
        },
        getOwnPropertyDescriptor() {
          throw new Error("boom");
        },
      },
    );
    expect(validateClientMessage(hostile)).toMatchObject({
      ok: false,
      error: { code: "invalid_message", path: "" },
    });
    const getter = {
      type: "publish",
      id: "1",
      topic: "a",
      get data(): unknown {
        throw new Error("boom");
      },
    };
    expect(() => validateClientMessage(getter)).not.toThrow();
  });
});

describe("static types", () => {
  test("the unions are discriminated by type", () => {
    expectTypeOf<ClientMessage["type"]>().toEqualTypeOf<
      | "subscribe"
      | "unsubscribe"
      | "publish"
      | "request"
      | "history"
      | "refresh"
      | "presence"
      | "ping"
      | "pong"
    >();
    expectTypeOf<ServerMessage["type"]>().toEqualTypeOf<
      | "hello"
      | "subscribed"
      | "unsubscribed"
      | "message"
      | "presence_diff"
      | "response"
      | "error"
      | "shutdown"
      | "token_expiring"
      | "ping"
      | "pong"
    >();
    const result = parseClientMessage('{"type":"publish","id":"1","topic":"a","data":1}');
    expect(result.ok).toBe(true);
    if (result.ok && result.message.type === "publish") {
      expectTypeOf(result.message).toEqualTypeOf<PublishMessage>();
      expect(result.message.data).toBe(1);
    }
    const response = parseServerMessage(
      '{"type":"response","id":"1","ok":false,"error":{"code":"x","message":"m"}}',
    );
    if (response.ok && response.message.type === "response" && !response.message.ok) {
      expectTypeOf(response.message).toEqualTypeOf<ResponseError>();
      expect(response.message.error.code).toBe("x");
    }
    expect(response.ok).toBe(true);
  });
});
