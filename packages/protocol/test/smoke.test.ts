import { Type } from "@sinclair/typebox";
import { expect, expectTypeOf, test } from "vitest";
import {
  defineContract,
  type MethodParams,
  parseClientMessage,
  type TopicData,
  truncateCloseReason,
} from "../src/index.js";

test("smoke", () => {
  const r = parseClientMessage('{"type":"subscribe","id":"1","topic":5}');
  expect(r).toMatchObject({
    ok: false,
    error: { code: "invalid_message", path: "/topic", id: "1" },
  });
  if (!r.ok)
    expect(r.error.message).toBe('"subscribe" expects "topic" to be a string, got integer 5');
  expect(truncateCloseReason("é".repeat(100))).toHaveLength(61);
  const c = defineContract({
    topics: { "telescope/*/status": Type.Object({ battery: Type.Number() }) },
    methods: { echo: { params: Type.Object({ x: Type.String() }), result: Type.String() } },
  });
  expectTypeOf<TopicData<typeof c.spec, "telescope/a/status">>().toEqualTypeOf<{
    battery: number;
  }>();
  expectTypeOf<MethodParams<typeof c.spec, "echo">>().toEqualTypeOf<{ x: string }>();
  expect(c.checkTopicData("telescope/a/status", { battery: 1 })).toEqual({ ok: true });
  expect(c.checkTopicData("telescope/a/b/status", { battery: 1 }).ok).toBe(false);
});
