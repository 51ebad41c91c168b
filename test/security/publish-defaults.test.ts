/**
 * Who may publish and subscribe when the application configures nothing, or only a contract
 * (PROTOCOL.md, "Who may publish and subscribe"): one test per default stated there, each
 * played by a client that forges what it should not, over real sockets.
 */
import { defineContract, ResumePoint } from "@lifeline/protocol";
import type { ServerOptions } from "@lifeline/server";
import { afterEach, describe, expect, it } from "vitest";
import { type RawConnection, rawConnect } from "./support/raw-socket.js";
import { startServer, type TestServer } from "./support/server.js";

// Any schema will do: every forged payload below is valid by it, so only the sender's right
// to publish decides. ResumePoint is `{offset, epoch}`.
const valid = { offset: 1, epoch: "forged" };
const contract = defineContract({
  topics: {
    "telescope/*/status": ResumePoint,
    "ops/owned": { schema: ResumePoint, publish: "server" },
    "chat/*": { schema: ResumePoint, publish: "clients" },
    "ops/deploys": { schema: ResumePoint, publish: ["admin"] },
  },
});

const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function server(options: ServerOptions = {}): Promise<TestServer> {
  const t = await startServer({ logger: false, ...options });
  disposers.push(() => t.close());
  return t;
}

async function client(t: TestServer, clientId: string, role = "frontend") {
  const c = await rawConnect({
    port: t.port,
    path: `/ws?client_id=${clientId}&version=1&role=${role}`,
  });
  disposers.push(() => c.destroy());
  await c.next((m) => m.type === "hello");
  return c;
}

let ids = 0;
async function ask(c: RawConnection, message: Record<string, unknown>) {
  const id = `m${++ids}`;
  c.send(JSON.stringify({ ...message, id }));
  return c.next((m) => m.id === id);
}
const publish = (c: RawConnection, topic: string, data: unknown = valid) =>
  ask(c, { type: "publish", topic, data });
const subscribe = (c: RawConnection, topic: string) => ask(c, { type: "subscribe", topic });

const forbidden = { type: "response", ok: false, error: { code: "forbidden" } };

/** The connection answers a ping after the refusals: it was kept, not closed. */
async function stillOpen(c: RawConnection): Promise<void> {
  c.send(JSON.stringify({ type: "ping" }));
  await c.next((m) => m.type === "pong");
}

describe("with no hook and no contract", () => {
  it("refuses every client publish with forbidden, appends nothing and keeps the connection", async () => {
    const t = await server();
    const forger = await client(t, "forger", "admin");
    for (const topic of ["demo/ticks", "telescope/seestar-001/status", "anything"]) {
      expect(await publish(forger, topic)).toMatchObject(forbidden);
      expect((await t.server.broker.head(topic)).offset).toBe(0);
    }
    await stillOpen(forger);
  });

  it("lets a client subscribe to any topic, and the server's own publish reach it", async () => {
    const t = await server();
    const reader = await client(t, "reader");
    expect(await subscribe(reader, "demo/ticks")).toMatchObject({ type: "subscribed" });
    await t.server.publish("demo/ticks", { n: 1 });
    expect(await reader.next((m) => m.type === "message")).toMatchObject({ data: { n: 1 } });
  });

  it("does not count a refused publish as a violation: many of them never close the connection", async () => {
    const t = await server({ limits: { abuse: { maxViolations: 3, windowMs: 60_000 } } });
    const forger = await client(t, "forger");
    for (let i = 0; i < 10; i += 1) {
      expect(await publish(forger, "demo/ticks")).toMatchObject(forbidden);
    }
    await stillOpen(forger);
  });
});

describe("with a contract and no hook", () => {
  it("refuses a forged publish to a server-owned topic although its data is valid", async () => {
    const t = await server({ contract });
    const forger = await client(t, "forger", "admin");
    expect(contract.checkTopicData("telescope/seestar-001/status", valid)).toEqual({ ok: true });
    expect(await publish(forger, "telescope/seestar-001/status")).toMatchObject(forbidden);
    expect(await publish(forger, "ops/owned")).toMatchObject(forbidden);
    expect((await t.server.broker.head("telescope/seestar-001/status")).offset).toBe(0);
    await stillOpen(forger);
  });

  it("refuses a publish to a topic the contract does not declare with forbidden, before any schema check", async () => {
    const t = await server({ contract });
    const forger = await client(t, "forger");
    expect(await publish(forger, "undeclared", "not even the right shape")).toMatchObject(
      forbidden,
    );
  });

  it("allows a publish where the contract opens the topic to clients, and still checks its data", async () => {
    const t = await server({ contract });
    const writer = await client(t, "writer");
    expect(await publish(writer, "chat/lobby")).toMatchObject({ ok: true, result: { offset: 1 } });
    expect(await publish(writer, "chat/lobby", { offset: "one" })).toMatchObject({
      ok: false,
      error: { code: "invalid_message" },
    });
  });

  it("allows a publish where the contract lists the connection's role, and refuses other roles", async () => {
    const t = await server({ contract });
    const admin = await client(t, "ops", "admin");
    const visitor = await client(t, "visitor", "frontend");
    expect(await publish(admin, "ops/deploys")).toMatchObject({ ok: true });
    expect(await publish(visitor, "ops/deploys")).toMatchObject(forbidden);
  });

  it("lets a client subscribe only to topics the contract declares", async () => {
    const t = await server({ contract });
    const reader = await client(t, "reader");
    expect(await subscribe(reader, "telescope/seestar-001/status")).toMatchObject({
      type: "subscribed",
    });
    expect(await subscribe(reader, "private/secrets")).toMatchObject(forbidden);
    await stillOpen(reader);
  });

  it("leaves the server's own publish to a server-owned topic unaffected", async () => {
    const t = await server({ contract });
    const reader = await client(t, "reader");
    await subscribe(reader, "telescope/seestar-001/status");
    await t.server.publish("telescope/seestar-001/status", { offset: 7, epoch: "real" });
    expect(await reader.next((m) => m.type === "message")).toMatchObject({
      data: { offset: 7, epoch: "real" },
    });
  });
});

describe("with an authorize hook", () => {
  it("lets the hook allow what the defaults refuse", async () => {
    const t = await server({
      contract,
      authorize: (_principal, topic, action, { byDefault }) =>
        byDefault || (action === "publish" && topic === "ops/owned"),
    });
    const c = await client(t, "trusted");
    expect(await publish(c, "ops/owned")).toMatchObject({ ok: true });
    expect(await publish(c, "telescope/seestar-001/status")).toMatchObject(forbidden);
  });

  it("lets the hook refuse what the defaults allow", async () => {
    const t = await server({ contract, authorize: () => false });
    const c = await client(t, "c");
    expect(await publish(c, "chat/lobby")).toMatchObject(forbidden);
    expect(await subscribe(c, "chat/lobby")).toMatchObject(forbidden);
    await stillOpen(c);
  });

  it("refuses a publish when the hook answers anything but true", async () => {
    const t = await server({ authorize: () => "yes" as unknown as boolean });
    const c = await client(t, "c");
    expect(await publish(c, "anything")).toMatchObject(forbidden);
  });
});
