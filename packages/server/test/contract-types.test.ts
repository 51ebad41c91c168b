import { defineContract } from "@lifeline/protocol";
import { Type } from "@sinclair/typebox";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { createServer, type LifelineServer, type PublishResult } from "../src/index.js";
import { connect, createDisposer, ofType } from "./helpers.js";

// The type assertions here are checked by `tsc -p packages/server/tsconfig.json` (the
// package's typecheck); each `@ts-expect-error` fails the typecheck when the line compiles.

const contract = defineContract({
  topics: {
    "room/*/message": Type.Object({ text: Type.String() }),
    presence: { schema: Type.Object({ online: Type.Integer() }), publish: "clients" },
  },
  methods: {
    add: {
      params: Type.Object({ a: Type.Number(), b: Type.Number() }),
      result: Type.Object({ sum: Type.Number() }),
    },
    ping: { params: Type.Unknown(), result: Type.Literal("pong") },
  },
});

const disposer = createDisposer();
afterEach(() => disposer.run());

async function typedServer() {
  const server = await createServer({ contract, logger: false });
  disposer.add(() => server.close({ drainTimeoutMs: 200, batchIntervalMs: 0 }));
  return server;
}

/** Never called: a home for assertions that only the type checker evaluates. */
function typeAssertions(server: LifelineServer<unknown, typeof contract.spec>): void {
  server.method("add", (params) => {
    expectTypeOf(params).toEqualTypeOf<{ a: number; b: number }>();
    return { sum: params.a + params.b };
  });
  server.method("add", async (params) => ({ sum: params.a * params.b }));
  // @ts-expect-error the result must be { sum: number }
  server.method("add", () => ({ total: 1 }));
  // @ts-expect-error the result's fields keep their types
  server.method("add", () => ({ sum: "3" }));
  server.method("ping", (params) => {
    expectTypeOf(params).toBeUnknown();
    return "pong" as const;
  });
  // @ts-expect-error a method the contract does not declare
  server.method("subtract", () => 0);

  expectTypeOf(server.publish("room/lobby/message", { text: "hi" })).toEqualTypeOf<
    Promise<PublishResult>
  >();
  void server.publish("presence", { online: 3 });
  // @ts-expect-error the pattern's data type applies to every topic it matches
  void server.publish("room/lobby/message", { text: 1 });
  // @ts-expect-error a topic the contract does not declare
  void server.publish("weather", { text: "hi" });
}

function untypedAssertions(server: LifelineServer): void {
  server.method("anything", (params) => {
    expectTypeOf(params).toBeUnknown();
    return params;
  });
  void server.publish("any/topic", { any: "data" });
}

describe("a server typed by its contract", () => {
  it("compiles the assertions above (they run in the typecheck)", () => {
    expect(typeof typeAssertions).toBe("function");
    expect(typeof untypedAssertions).toBe("function");
  });

  it("hands a typed handler its params and sends back what it returns", async () => {
    const server = await typedServer();
    server.method("add", ({ a, b }) => ({ sum: a + b }));
    const client = await connect(server, "typed");
    disposer.add(() => client.close());
    client.send({ type: "request", id: "r", method: "add", params: { a: 2, b: 3 } });
    expect((await client.next(ofType("response"))).result).toEqual({ sum: 5 });
  });

  it("refuses at run time what the types refuse, for callers without types", async () => {
    const server = await typedServer();
    const untyped = server as unknown as LifelineServer;
    await expect(untyped.publish("room/lobby/message", { text: 1 })).rejects.toMatchObject({
      code: "LIFELINE_INVALID_DATA",
    });
    // A template literal type cannot stop `${string}` spanning a "/": the check at run
    // time is what holds "*" to exactly one segment.
    await expect(server.publish("room/a/b/message", { text: "hi" })).rejects.toMatchObject({
      code: "LIFELINE_INVALID_DATA",
    });
    await expect(untyped.publish("room/lobby/message", { text: "hi" })).resolves.toMatchObject({
      topic: "room/lobby/message",
      offset: 1,
    });
  });
});
