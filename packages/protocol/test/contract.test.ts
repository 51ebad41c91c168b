import { ajv, compile } from "@lifeline/protocol/ajv";
import { type Static, type TString, Type } from "@sinclair/typebox";
import { describe, expect, expectTypeOf, test } from "vitest";
import {
  type DirectData,
  defineContract,
  INBOX_TOPIC,
  ajv as indexAjv,
  compile as indexCompile,
  isReservedTopic,
  type MethodOf,
  type MethodParams,
  type MethodResult,
  type TopicData,
  type TopicOf,
} from "../src/index.js";

const TelescopeStatus = Type.Object({
  battery: Type.Number({ minimum: 0, maximum: 100 }),
  state: Type.Union([Type.Literal("idle"), Type.Literal("tracking")]),
});
const Announcement = Type.Object({ text: Type.String({ maxLength: 10 }) });
const Slew = Type.Object(
  { ra: Type.Number(), dec: Type.Number() },
  { additionalProperties: false },
);

const contract = defineContract({
  topics: {
    "telescope/*/status": TelescopeStatus,
    "telescope/main/status": Type.Object({ battery: Type.Number(), main: Type.Literal(true) }),
    announcements: Announcement,
  },
  methods: {
    "telescope.slew": { params: Slew, result: Type.Object({ eta_ms: Type.Integer() }) },
    ping: { params: Type.Null(), result: Type.Literal("pong") },
  },
});
type Spec = typeof contract.spec;

describe("static types", () => {
  test("topic names and payloads come from the declared schemas", () => {
    expectTypeOf<TopicOf<Spec>>().toEqualTypeOf<
      `telescope/${string}/status` | "telescope/main/status" | "announcements"
    >();
    expectTypeOf<TopicData<Spec, "telescope/seestar-1/status">>().toEqualTypeOf<
      Static<typeof TelescopeStatus>
    >();
    expectTypeOf<TopicData<Spec, "announcements">>().toEqualTypeOf<{ text: string }>();
    expectTypeOf<TopicData<Spec, "nope">>().toBeNever();
  });

  test("method names, params and results come from the declared schemas", () => {
    expectTypeOf<MethodOf<Spec>>().toEqualTypeOf<"telescope.slew" | "ping">();
    expectTypeOf<MethodParams<Spec, "telescope.slew">>().toEqualTypeOf<{
      ra: number;
      dec: number;
    }>();
    expectTypeOf<MethodResult<Spec, "telescope.slew">>().toEqualTypeOf<{ eta_ms: number }>();
    expectTypeOf<MethodParams<Spec, "ping">>().toEqualTypeOf<null>();
    expectTypeOf<MethodResult<Spec, "ping">>().toEqualTypeOf<"pong">();
  });

  test("an empty contract types payloads as unknown", () => {
    const empty = defineContract({});
    expectTypeOf<TopicData<typeof empty.spec, "anything">>().toBeUnknown();
    expectTypeOf<MethodOf<typeof empty.spec>>().toBeNever();
    expect(empty.hasTopic("anything")).toBe(false);
  });
});

describe("topics", () => {
  test("accepts a payload matching the topic's schema", () => {
    expect(contract.checkTopicData("telescope/a/status", { battery: 50, state: "idle" })).toEqual({
      ok: true,
    });
    expect(contract.checkTopicData("announcements", { text: "hello" })).toEqual({ ok: true });
  });

  test("refuses a payload with the field's JSON pointer and what came", () => {
    expect(
      contract.checkTopicData("telescope/a/status", { battery: "full", state: "idle" }),
    ).toEqual({
      ok: false,
      issue: {
        path: "/battery",
        message: 'topic "telescope/a/status" data expects "battery" to be a number, got "full"',
      },
    });
    expect(contract.checkTopicData("telescope/a/status", { battery: 101, state: "idle" })).toEqual({
      ok: false,
      issue: {
        path: "/battery",
        message: 'topic "telescope/a/status" data expects "battery" to be <= 100, got integer 101',
      },
    });
    expect(contract.checkTopicData("announcements", {})).toMatchObject({
      ok: false,
      issue: { path: "/text", message: 'topic "announcements" data requires "text"' },
    });
    expect(contract.checkTopicData("announcements", "hi")).toMatchObject({
      ok: false,
      issue: { path: "" },
    });
  });

  test("a * matches exactly one segment", () => {
    expect(contract.hasTopic("telescope/x/status")).toBe(true);
    expect(contract.hasTopic("telescope/x/y/status")).toBe(false);
    expect(contract.hasTopic("telescope/status")).toBe(false);
    expect(contract.checkTopicData("telescope/x/y/status", { battery: 1, state: "idle" })).toEqual({
      ok: false,
      issue: { path: "", message: 'topic "telescope/x/y/status" is not declared by the contract' },
    });
  });

  test("an exact key wins over a pattern", () => {
    expect(contract.checkTopicData("telescope/main/status", { battery: 1, main: true })).toEqual({
      ok: true,
    });
    expect(contract.checkTopicData("telescope/main/status", { battery: 1, state: "idle" }).ok).toBe(
      false,
    );
  });

  test("Object.prototype names are not declared topics or methods", () => {
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      expect(contract.hasTopic(name)).toBe(false);
      expect(contract.hasMethod(name)).toBe(false);
      expect(contract.checkTopicData(name, {}).ok).toBe(false);
      expect(contract.checkParams(name, {}).ok).toBe(false);
    }
  });

  test("refuses a * that is not a whole segment when the contract is defined", () => {
    expect(() => defineContract({ topics: { "tele*/status": Announcement } })).toThrow(
      /whole topic segment/,
    );
  });

  test("refuses a schema Ajv cannot compile when the contract is defined", () => {
    expect(() => defineContract({ topics: { a: Type.Date() } })).toThrow();
  });
});

describe("methods", () => {
  test("checks params and results", () => {
    expect(contract.hasMethod("telescope.slew")).toBe(true);
    expect(contract.checkParams("telescope.slew", { ra: 1, dec: 2 })).toEqual({ ok: true });
    expect(contract.checkParams("telescope.slew", { ra: 1 })).toEqual({
      ok: false,
      issue: { path: "/dec", message: 'method "telescope.slew" params requires "dec"' },
    });
    expect(contract.checkParams("telescope.slew", { ra: 1, dec: 2, speed: 3 })).toMatchObject({
      ok: false,
      issue: { path: "/speed" },
    });
    expect(contract.checkResult("telescope.slew", { eta_ms: 10 })).toEqual({ ok: true });
    expect(contract.checkResult("telescope.slew", { eta_ms: 1.5 })).toMatchObject({
      ok: false,
      issue: { path: "/eta_ms" },
    });
    expect(contract.checkParams("ping", null)).toEqual({ ok: true });
    expect(contract.checkParams("ping", undefined).ok).toBe(false);
    expect(contract.checkResult("ping", "pong")).toEqual({ ok: true });
  });

  test("refuses methods the contract does not declare", () => {
    expect(contract.hasMethod("telescope.park")).toBe(false);
    expect(contract.checkParams("telescope.park", {})).toEqual({
      ok: false,
      issue: { path: "", message: 'method "telescope.park" is not declared by the contract' },
    });
    expect(contract.checkResult("telescope.park", {}).ok).toBe(false);
  });
});

test("a value too deep for a recursive schema is refused, not thrown", () => {
  const Node = Type.Recursive((self) => Type.Object({ child: Type.Optional(self) }));
  const deep = defineContract({ topics: { tree: Node } });
  let value: Record<string, unknown> = {};
  for (let i = 0; i < 200_000; i += 1) value = { child: value };
  const result = deep.checkTopicData("tree", value);
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.issue.message).toMatch(/^topic "tree" data could not be checked/);
  expect(deep.checkTopicData("tree", { child: { child: {} } })).toEqual({ ok: true });
});

describe("validators", () => {
  test("by default checks with TypeBox, without generating code", () => {
    const made = defineContract({ topics: { a: Type.Object({ n: Type.Integer() }) } });
    expect(made.checkTopicData("a", { n: 1 })).toEqual({ ok: true });
    expect(made.checkTopicData("a", { n: 1.5 })).toEqual({
      ok: false,
      issue: { path: "/n", message: 'topic "a" data expects "n" to be an integer, got number 1.5' },
    });
  });

  test("compile from @lifeline/protocol/ajv gives Ajv-compiled checks with the same answers", () => {
    const compiled = defineContract(
      {
        topics: { "telescope/*/status": TelescopeStatus, announcements: Announcement },
        methods: { "telescope.slew": { params: Slew, result: Type.Null() } },
      },
      { compile },
    );
    const samples: [topic: string, data: unknown][] = [
      ["telescope/a/status", { battery: 50, state: "idle" }],
      ["telescope/a/status", { battery: "full", state: "idle" }],
      ["telescope/a/status", { battery: 101, state: "idle" }],
      ["announcements", {}],
      ["announcements", { text: "x".repeat(11) }],
      ["announcements", "hi"],
    ];
    for (const [topic, data] of samples) {
      expect(compiled.checkTopicData(topic, data)).toEqual(contract.checkTopicData(topic, data));
    }
    expect(compiled.checkParams("telescope.slew", { ra: 1, dec: 2, speed: 3 })).toEqual(
      contract.checkParams("telescope.slew", { ra: 1, dec: 2, speed: 3 }),
    );
  });

  test("the index still exports the protocol's Ajv instance and compile", () => {
    expect(indexCompile).toBe(compile);
    expect(indexAjv).toBe(ajv);
    const validate = indexCompile<string>(Type.String({ maxLength: 2 }));
    expect([validate("ab"), validate("abc")]).toEqual([true, false]);
  });

  test("refuses, when defined, schemas the default checker cannot check correctly", () => {
    expect(() => defineContract({ topics: { a: Type.Object({ at: Type.Date() }) } })).toThrow(
      /expects JSON types, got Type.Date\(\) at \/properties\/at/,
    );
    expect(() =>
      defineContract({ topics: { a: { type: "string" } as unknown as TString } }),
    ).toThrow(/expects TypeBox schemas.*@lifeline\/protocol\/ajv/);
    expect(() =>
      defineContract({ topics: { a: Type.String({ format: "made-up-format" }) } }),
    ).toThrow(/string format "made-up-format"/);
  });

  test("a union refused by TypeBox says so", () => {
    expect(contract.checkTopicData("telescope/a/status", { battery: 1, state: "off" })).toEqual({
      ok: false,
      issue: {
        path: "/state",
        message:
          'topic "telescope/a/status" data expects "state" to match one of its schemas, got "off"',
      },
    });
  });
});

describe("who may publish", () => {
  const Note = Type.Object({ text: Type.String({ maxLength: 500 }) });
  const rules = defineContract({
    topics: {
      "demo/ticks": Type.Object({ n: Type.Integer() }),
      "demo/notes": { schema: Note, publish: "clients" },
      "ops/*": { schema: Type.String(), publish: ["admin"] },
      "ops/quiet": { schema: Type.String() },
    },
  });

  test("a topic given as a bare schema is server-owned", () => {
    expect(rules.publishRule("demo/ticks")).toBe("server");
    expect(rules.publishRule("ops/quiet")).toBe("server");
  });

  test("a topic spec names clients or roles, and patterns carry their rule", () => {
    expect(rules.publishRule("demo/notes")).toBe("clients");
    expect(rules.publishRule("ops/deploys")).toEqual(["admin"]);
  });

  test("an undeclared topic has no rule", () => {
    expect(rules.publishRule("demo/other")).toBeUndefined();
    expect(rules.publishRule("toString")).toBeUndefined();
  });

  test("a topic spec's schema validates and types the payload", () => {
    expect(rules.checkTopicData("demo/notes", { text: "hi" })).toEqual({ ok: true });
    expect(rules.checkTopicData("demo/notes", { text: 1 }).ok).toBe(false);
    expectTypeOf<TopicData<typeof rules.spec, "demo/notes">>().toEqualTypeOf<{ text: string }>();
    expectTypeOf<TopicData<typeof rules.spec, "ops/x">>().toEqualTypeOf<string>();
  });

  test("refuses an unknown publish rule when the contract is defined", () => {
    const bad = { schema: Type.String(), publish: "everyone" } as unknown as TString;
    expect(() => defineContract({ topics: { a: bad } })).toThrow(
      /topic "a" publish to be "server", "clients" or a list of roles, got "everyone"/,
    );
  });
});

describe("direct messages", () => {
  test("direct types and checks the inbox payload", () => {
    const contract = defineContract({
      topics: {},
      direct: Type.Object({ text: Type.String() }, { additionalProperties: false }),
    });
    expectTypeOf<DirectData<typeof contract.spec>>().toEqualTypeOf<{ text: string }>();
    expect(contract.checkDirectData({ text: "hi" })).toEqual({ ok: true });
    expect(contract.checkTopicData(INBOX_TOPIC, { text: "hi" })).toEqual({ ok: true });
    const refused = contract.checkDirectData({ text: 5 });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.issue.message).toMatch(/direct message/);
    expect(contract.checkTopicData(INBOX_TOPIC, { nope: 1 }).ok).toBe(false);
  });

  test("without direct, direct messages are unknown and unchecked", () => {
    const contract = defineContract({ topics: { a: Type.String() } });
    expectTypeOf<DirectData<typeof contract.spec>>().toEqualTypeOf<unknown>();
    expect(contract.checkDirectData({ any: [1] })).toEqual({ ok: true });
    expect(contract.checkTopicData(INBOX_TOPIC, 5)).toEqual({ ok: true });
    expect(contract.hasTopic(INBOX_TOPIC)).toBe(false);
  });

  test("reserved topics are @inbox and everything under it", () => {
    expect(isReservedTopic("@inbox")).toBe(true);
    expect(isReservedTopic("@inbox/x")).toBe(true);
    expect(isReservedTopic("@inboxes")).toBe(false);
    expect(isReservedTopic("chat/@inbox")).toBe(false);
  });
});
