import { defineContract, PublishAck, ResumePoint } from "@lifeline/protocol";
import { describe, expect, it } from "vitest";
import { setupClient } from "./helpers/setup.js";

// Schemas borrowed from the protocol package (TypeBox objects), so this test needs no
// TypeBox dependency of its own: topic data {offset, epoch}, params {offset, epoch},
// result {topic, offset, epoch}.
const contract = defineContract({
  topics: { "telescope/*/status": ResumePoint },
  methods: { "telescope.point": { params: ResumePoint, result: PublishAck } },
});

describe("typed by a contract", () => {
  it("types and checks params, results and topic data", async () => {
    const { client, sockets } = setupClient({ contract });
    const typed = client as unknown as import("../src/api.js").LifelineClient<typeof contract.spec>;
    const socket = await sockets.nth(0);
    socket.accept();

    const result = typed.request("telescope.point", { offset: 1, epoch: "e" });
    const id = socket.ofType("request")[0]?.id as string;
    socket.receive({
      type: "response",
      id,
      ok: true,
      result: { topic: "telescope/t1/status", offset: 9, epoch: "e" },
    });
    const offset: number = (await result).offset;
    expect(offset).toBe(9);

    // @ts-expect-error: params must match the contract
    const bad = typed.request("telescope.point", { offset: "north", epoch: "e" });
    await expect(bad).rejects.toMatchObject({
      code: "invalid_message",
      message: expect.stringMatching(/expects params matching the contract/),
    });
    // @ts-expect-error: not a method of the contract
    await expect(typed.request("nope", {})).rejects.toMatchObject({ code: "invalid_message" });

    const seen: number[] = [];
    typed.subscribe("telescope/t1/status", (data) => seen.push(data.offset));
    // @ts-expect-error: data must match the topic schema
    await expect(typed.publish("telescope/t1/status", { offset: "1" })).rejects.toMatchObject({
      code: "invalid_message",
    });

    const sub = socket.ofType("subscribe")[0]?.id as string;
    socket.receive({
      type: "subscribed",
      id: sub,
      topic: "telescope/t1/status",
      offset: 0,
      epoch: "e",
      recovered: true,
      replayed: 0,
    });
    const errors: string[] = [];
    client.on("error", (e) => errors.push(e.message));
    const base = { type: "message", topic: "telescope/t1/status", epoch: "e", ts: 0 } as const;
    socket.receive({ ...base, offset: 1, data: { offset: 100, epoch: "x" } });
    socket.receive({ ...base, offset: 2, data: { offset: "bad", epoch: "x" } });
    socket.receive({ ...base, offset: 3, data: { offset: 300, epoch: "x" } });
    expect(seen).toEqual([100, 300]);
    expect(errors).toEqual([
      expect.stringMatching(/message 2 of "telescope\/t1\/status" does not match/),
    ]);

    const wrongResult = typed.request("telescope.point", { offset: 0, epoch: "e" });
    const id2 = socket.ofType("request")[1]?.id as string;
    socket.receive({ type: "response", id: id2, ok: true, result: { accepted: "maybe" } });
    // @ts-expect-error: a topic outside the contract
    typed.subscribe("weather/today", () => {});
    await expect(wrongResult).rejects.toMatchObject({ code: "invalid_message" });
    client.close();
  });
});

describe("contract inference", () => {
  it("types the client from the contract passed to createClient, without annotations", async () => {
    const { createClient } = await import("../src/index.js");
    const client = createClient({
      url: "ws://contract.test/ws",
      contract,
      lazy: true,
      lifecycle: false,
      logLevel: "silent",
    });
    // @ts-expect-error: the inferred client knows the method's params
    const bad = client.request("telescope.point", { offset: "x", epoch: "e" });
    await expect(bad).rejects.toMatchObject({ code: "invalid_message" });
    client.close();
  });
});
