import { DeltaSchema, defineContract } from "@lifeline/protocol";
import { createServer, type LifelineServer } from "@lifeline/server";
import { Type } from "@sinclair/typebox";
import { afterEach, describe, expect, it } from "vitest";
import type { MessageMeta } from "../src/index.js";
import { createClient, createDeltaStates } from "../src/node.js";
import { Collector, waitForState } from "./helpers/wait.js";
import { wireOptions } from "./helpers/wire.js";

// PROTOCOL.md, "Deltas" and "Conflation", end to end: the server's publishDelta, a
// conflated topic, and the client's createDeltaStates over real sockets on 127.0.0.1.

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

const Status = Type.Object({
  state: Type.String(),
  battery: Type.Number(),
  target: Type.Optional(Type.String()),
});
type Status = { state: string; battery: number; target?: string };

const contract = defineContract({
  topics: {
    "scopes/status": { schema: DeltaSchema(Status), conflate: { key: "key" } },
    "scopes/plain": DeltaSchema(Status),
  },
});

async function server(): Promise<LifelineServer<unknown, typeof contract.spec>> {
  const s = await createServer({
    port: 0,
    logger: false,
    contract,
    deltas: { fullEvery: 4 },
  });
  disposers.push(() => s.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 }));
  return s;
}

async function client(port: number, clientId: string) {
  const c = createClient({
    ...wireOptions(),
    url: `ws://127.0.0.1:${port}/ws`,
    clientId,
    role: "test",
    lifecycle: false,
    logLevel: "silent",
  });
  disposers.push(() => c.close());
  await waitForState(c, "open");
  return c;
}

/** The states a publisher means, applied in order: what every subscriber must end with. */
const script: Array<[string, Record<string, unknown>]> = [
  ["s1", { state: "idle", battery: 100 }],
  ["s2", { state: "idle", battery: 90 }],
  ["s1", { state: "slewing", target: "M42" }],
  ["s1", { battery: 99 }],
  ["s2", { state: "tracking", target: "M31" }],
  ["s1", { state: "tracking" }],
  ["s1", { target: null }],
  ["s1", { battery: 98 }],
  ["s2", { battery: 89 }],
];
const finalStates = {
  s1: { state: "tracking", battery: 98 },
  s2: { state: "tracking", battery: 89, target: "M31" },
};

describe("deltas end to end", () => {
  it("a live subscriber and a late one joining with rewind rebuild every key's state", async () => {
    const s = await server();
    const live = await client(s.port, "live");
    const liveStates = createDeltaStates<Status>();
    const liveMetas = new Collector<MessageMeta>();
    const kinds: string[] = [];
    live.subscribe(
      "scopes/status",
      (data, meta) => {
        kinds.push("full" in (data as object) ? "full" : "changes");
        liveStates.apply(data);
        liveMetas.push(meta);
      },
      {},
    );
    await live.ping();
    for (const [key, changes] of script) await s.publishDelta("scopes/status", key, changes);
    await liveMetas.waitFor(script.length);
    expect(Object.fromEntries(liveStates.entries())).toEqual(finalStates);
    // The first message of each key is full, then one in four (fullEvery: 4): s1's fifth.
    expect(kinds).toEqual([
      "full",
      "full",
      "changes",
      "changes",
      "changes",
      "changes",
      "full",
      "changes",
      "changes",
    ]);

    const late = await client(s.port, "late");
    const lateStates = createDeltaStates<Status>();
    const lateMetas = new Collector<MessageMeta>();
    late.subscribe(
      "scopes/status",
      (data, meta) => {
        lateStates.apply(data);
        lateMetas.push(meta);
      },
      { rewind: 10 },
    );
    const metas = await lateMetas.waitFor(2);
    expect(metas.every((m) => m.conflated === true)).toBe(true);
    expect(Object.fromEntries(lateStates.entries())).toEqual(finalStates);
    await s.publishDelta("scopes/status", "s2", { battery: 88 });
    await lateMetas.waitFor(3);
    expect(lateStates.get("s2")).toEqual({ ...finalStates.s2, battery: 88 });
  });

  it("a subscriber of an unconflated delta topic rebuilds a key at its next full state", async () => {
    const s = await server();
    for (const [key, changes] of script.slice(0, 4)) {
      await s.publishDelta("scopes/plain", key, changes);
    }
    const c = await client(s.port, "joiner");
    const states = createDeltaStates<Status>();
    const updates = new Collector<unknown>();
    c.subscribe("scopes/plain", (data) => updates.push(states.apply(data)), { rewind: 1 });
    await updates.waitFor(1);
    // The rewound message is a delta of s1 (its third): no state yet, nothing guessed.
    expect(updates.items).toEqual([undefined]);
    // s1's fourth message is a delta too, its fifth the full state (fullEvery: 4).
    await s.publishDelta("scopes/plain", "s1", { battery: 50 });
    await updates.waitFor(2);
    expect(states.get("s1")).toBeUndefined();
    await s.publishDelta("scopes/plain", "s1", { battery: 51 });
    await updates.waitFor(3);
    expect(states.get("s1")).toEqual({ state: "slewing", target: "M42", battery: 51 });
  });

  it("refuses changes whose merged state breaks the contract; nothing is published", async () => {
    const s = await server();
    await s.publishDelta("scopes/status", "s1", { state: "idle", battery: 1 });
    await expect(
      s.publishDelta("scopes/status", "s1", { battery: "full" as unknown as number }),
    ).rejects.toThrow(/^"scopes\/status" state of "s1": topic "scopes\/status" data expects/);
    const read = await s.broker.latest?.("scopes/status");
    expect(read?.entries.map((e) => e.data)).toEqual([
      { key: "s1", full: { state: "idle", battery: 1 } },
    ]);
  });
});
