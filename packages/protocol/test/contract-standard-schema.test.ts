import { Type } from "@sinclair/typebox";
import * as v from "valibot";
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  defineContract,
  isStandardSchema,
  type MethodParams,
  type MethodResult,
  type TopicData,
} from "../src/index.js";

const zodContract = defineContract({
  topics: {
    "room/*/message": z.object({ text: z.string().max(10), at: z.number().int() }),
    "room/*/typing": { schema: z.object({ who: z.string() }), publish: "clients" },
  },
  methods: {
    add: {
      params: z.object({ a: z.number(), b: z.number() }),
      result: z.object({ sum: z.number() }),
    },
  },
});

const valibotContract = defineContract({
  topics: {
    ticks: v.object({ n: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
    notes: { schema: v.object({ text: v.string() }), publish: ["editor"] },
  },
  methods: {
    rename: { params: v.object({ name: v.string() }), result: v.literal("ok") },
  },
});

describe("contracts with zod 4 schemas", () => {
  it("types topics and methods by the schemas' output types", () => {
    type Spec = typeof zodContract.spec;
    expectTypeOf<TopicData<Spec, "room/lobby/message">>().toEqualTypeOf<{
      text: string;
      at: number;
    }>();
    expectTypeOf<TopicData<Spec, "room/lobby/typing">>().toEqualTypeOf<{ who: string }>();
    expectTypeOf<MethodParams<Spec, "add">>().toEqualTypeOf<{ a: number; b: number }>();
    expectTypeOf<MethodResult<Spec, "add">>().toEqualTypeOf<{ sum: number }>();
  });

  it("accepts valid data and refuses invalid data with zod's message and a JSON pointer", () => {
    expect(zodContract.checkTopicData("room/a/message", { text: "hi", at: 1 })).toEqual({
      ok: true,
    });
    const refused = zodContract.checkTopicData("room/a/message", { text: "far too long", at: 1 });
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.issue.path).toBe("/text");
    expect(refused.issue.message).toMatch(/^topic "room\/a\/message" data is invalid at \/text: /);
    expect(refused.issue.message).toContain("10");
    expect(zodContract.checkParams("add", { a: 1, b: "2" })).toMatchObject({
      ok: false,
      issue: { path: "/b" },
    });
    expect(zodContract.checkResult("add", { sum: 3 })).toEqual({ ok: true });
  });

  it("reads publish rules from a topic spec around a zod schema, and a bare one as server-owned", () => {
    expect(zodContract.publishRule("room/a/typing")).toBe("clients");
    expect(zodContract.publishRule("room/a/message")).toBe("server");
  });

  it("refuses data when the schema validates asynchronously, saying why", () => {
    const contract = defineContract({
      topics: { slow: z.string().refine(async (text) => text.length > 0) },
    });
    const check = contract.checkTopicData("slow", "x");
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.issue.message).toContain("asynchronous");
  });
});

describe("contracts with valibot schemas", () => {
  it("types topics and methods by the schemas' output types", () => {
    type Spec = typeof valibotContract.spec;
    expectTypeOf<TopicData<Spec, "ticks">>().toEqualTypeOf<{ n: number }>();
    expectTypeOf<MethodParams<Spec, "rename">>().toEqualTypeOf<{ name: string }>();
    expectTypeOf<MethodResult<Spec, "rename">>().toEqualTypeOf<"ok">();
  });

  it("accepts valid data and refuses invalid data with valibot's message and path", () => {
    expect(valibotContract.checkTopicData("ticks", { n: 3 })).toEqual({ ok: true });
    const refused = valibotContract.checkTopicData("ticks", { n: 0 });
    expect(refused).toMatchObject({ ok: false, issue: { path: "/n" } });
    expect(valibotContract.checkResult("rename", "no")).toMatchObject({ ok: false });
    expect(valibotContract.publishRule("notes")).toEqual(["editor"]);
  });
});

describe("mixed contracts", () => {
  it("takes TypeBox, zod and valibot schemas side by side", () => {
    const contract = defineContract({
      topics: {
        a: Type.Object({ n: Type.Number() }),
        b: z.object({ n: z.number() }),
        c: v.object({ n: v.number() }),
      },
    });
    for (const topic of ["a", "b", "c"]) {
      expect(contract.checkTopicData(topic, { n: 1 })).toEqual({ ok: true });
      expect(contract.checkTopicData(topic, { n: "1" }).ok).toBe(false);
    }
    expectTypeOf<TopicData<typeof contract.spec, "b">>().toEqualTypeOf<{ n: number }>();
  });

  it("tells Standard Schemas from TypeBox schemas and plain objects", () => {
    expect(isStandardSchema(z.string())).toBe(true);
    expect(isStandardSchema(v.string())).toBe(true);
    expect(isStandardSchema(Type.String())).toBe(false);
    expect(isStandardSchema({ schema: z.string() })).toBe(false);
    expect(isStandardSchema(null)).toBe(false);
  });
});
