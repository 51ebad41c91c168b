/**
 * Who may publish and subscribe when the application configures nothing, or only a contract
 * (PROTOCOL.md, "Who may publish and subscribe"): one test per default stated there, each
 * played by a client that forges what it should not, over real sockets; the publish
 * defaults again over each wire (WebSocket with JSON, with MessagePack, and the HTTP
 * fallback's posts), since each decodes its messages on its own path.
 */

import { createClient } from "@lifeline/client";
import { defineContract, ResumePoint, type StandardSchemaV1 } from "@lifeline/protocol";
import { AuthError, type ServerOptions } from "@lifeline/server";
import { connectOver, TEST_WIRES, type TestClient } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { type RawConnection, rawConnect } from "./support/raw-socket.js";
import { startServer, type TestServer } from "./support/server.js";

// Any schema will do: every forged payload below is valid by it, so only the sender's right
// to publish decides. ResumePoint is `{offset, epoch}`.
const valid = { offset: 1, epoch: "forged" };
/** Delta-shaped data (PROTOCOL.md, "Deltas"), as a Standard Schema: `{key, full | changes}`. */
const DeltaShaped: StandardSchemaV1<{ key: string }> = {
  "~standard": {
    version: 1,
    vendor: "security-suite",
    validate(value) {
      const v = value as { key?: unknown; full?: unknown; changes?: unknown } | null;
      const ok =
        typeof v === "object" &&
        v !== null &&
        typeof v.key === "string" &&
        (typeof v.full === "object" || typeof v.changes === "object");
      return ok ? { value: v as { key: string } } : { issues: [{ message: "not a delta" }] };
    },
  },
};
const contract = defineContract({
  topics: {
    "telescope/*/status": ResumePoint,
    // Conflated by key, as a delta topic is: a publish there is judged like any other.
    "telescope/*/state": { schema: DeltaShaped, conflate: { key: "key" } },
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

  it("decides a history or presence read as a subscribe: refused outside the contract, served inside it", async () => {
    const t = await server({ contract, presence: () => true });
    // Retained by the broker (another application may share it), never declared.
    await t.server.broker.append("private/secrets", { offset: 1, epoch: "hidden" });
    const nosy = await client(t, "nosy");
    const readHistory = (topic: string) =>
      ask(nosy, { type: "history", topic, limit: 10, direction: "backward" });
    const history = await readHistory("private/secrets");
    expect(history).toMatchObject(forbidden);
    expect(JSON.stringify(history)).not.toContain("hidden");
    expect(await ask(nosy, { type: "presence", topic: "private/secrets" })).toMatchObject(
      forbidden,
    );
    expect(await readHistory("telescope/seestar-001/status")).toMatchObject({ ok: true });
    expect(
      await ask(nosy, { type: "presence", topic: "telescope/seestar-001/status" }),
    ).toMatchObject({ ok: true });
    await stillOpen(nosy);
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

describe("roles in a contract's publish rule", () => {
  it("are what the client says: without authenticate any client that says admin publishes where admins may", async () => {
    const t = await server({ contract });
    const impostor = await client(t, "impostor", "admin");
    expect(await publish(impostor, "ops/deploys")).toMatchObject({ ok: true });
  });

  it("hold once authenticate checks the role against the credentials", async () => {
    const roles: Record<string, string> = { "tok-ops": "admin", "tok-visitor": "frontend" };
    const t = await server({
      contract,
      authenticate: (_request, { token, role }) => {
        const granted = roles[token ?? ""];
        if (granted === undefined || granted !== role) {
          throw new AuthError(`role "${role}" is not granted by this token`);
        }
        return granted;
      },
    });
    const impostor = await rawConnect({
      port: t.port,
      path: "/ws?client_id=impostor&version=1&role=admin&token=tok-visitor",
    });
    disposers.push(() => impostor.destroy());
    expect(await impostor.closed).toMatchObject({ code: 4401 });
    const visitor = await rawConnect({
      port: t.port,
      path: "/ws?client_id=visitor&version=1&role=frontend&token=tok-visitor",
    });
    disposers.push(() => visitor.destroy());
    await visitor.next((m) => m.type === "hello");
    expect(await publish(visitor, "ops/deploys")).toMatchObject(forbidden);
    const ops = await rawConnect({
      port: t.port,
      path: "/ws?client_id=ops&version=1&role=admin&token=tok-ops",
    });
    disposers.push(() => ops.destroy());
    await ops.next((m) => m.type === "hello");
    expect(await publish(ops, "ops/deploys")).toMatchObject({ ok: true });
  });
});

describe("a refusal seen by the client library", () => {
  it("is final: the publish fails with forbidden and is not sent again after a reconnect", async () => {
    const asked: string[] = [];
    const t = await server({
      contract,
      authorize: (_principal, topic, action, { byDefault }) => {
        if (action === "publish") asked.push(topic);
        return byDefault;
      },
    });
    const c = createClient({ url: `ws://127.0.0.1:${t.port}/ws`, clientId: "writer" });
    disposers.push(() => c.close());
    await expect(c.publish("ops/owned", valid)).rejects.toMatchObject({ code: "forbidden" });
    expect(c.stats()).toMatchObject({ queueSize: 0, pendingPublishes: 0 });
    const reconnected = new Promise<void>((resolve) => {
      let dropped = false;
      const stop = c.subscribeState(({ next }) => {
        dropped ||= next === "reconnecting";
        if (dropped && next === "open") {
          stop();
          resolve();
        }
      });
    });
    await t.server.disconnect({ clientId: "writer" }, { code: 1012, reason: "restart" });
    await reconnected;
    // Publishes on one connection are answered in order: once this one is, the refused one
    // would have been sent again before it.
    await expect(c.publish("chat/lobby", valid)).resolves.toMatchObject({ offset: 1 });
    expect(asked).toEqual(["ops/owned", "chat/lobby"]);
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

describe.each(TEST_WIRES)("over the %s wire", (wire) => {
  async function wireClient(t: TestServer, clientId: string): Promise<TestClient> {
    const c = await connectOver(wire, t, clientId);
    disposers.push(() => c.close());
    return c;
  }
  async function publishOver(c: TestClient, id: string, topic: string, data: unknown) {
    c.send({ type: "publish", id, topic, data });
    return c.next((m) => m.type === "response" && m.id === id, `the answer to ${id}`);
  }
  async function stillOpenOver(c: TestClient): Promise<void> {
    c.send({ type: "request", id: "alive", method: "nothing-here" });
    await c.next((m) => m.id === "alive", "an answer after the refusals");
    expect(c.isOpen()).toBe(true);
  }
  // Delta-shaped (PROTOCOL.md, "Deltas") and whole-state data: both are plain `publish` data.
  const deltaFull = { key: "seestar-001", full: { battery: 1, full: false } };
  const deltaChanges = { key: "seestar-001", changes: { battery: 1 } };

  it("refuses every client publish with no hook and no contract, delta-shaped data too, and keeps the connection", async () => {
    const t = await server();
    const forger = await wireClient(t, "forger");
    const forged = [
      ["telescope/seestar-001/status", { telescope_id: "seestar-001", full: false, battery: 1 }],
      ["demo/ticks", { n: 999_999 }],
      ["telescope/seestar-001/state", deltaFull],
      ["telescope/seestar-001/state", deltaChanges],
    ] as const;
    for (const [i, [topic, data]] of forged.entries()) {
      expect(await publishOver(forger, `p${i}`, topic, data)).toMatchObject(forbidden);
      expect((await t.server.broker.head(topic)).offset).toBe(0);
    }
    await stillOpenOver(forger);
  });

  it("refuses a forged publish to a server-owned or conflated contract topic with valid data, and takes one the contract opens", async () => {
    const t = await server({ contract });
    const forger = await wireClient(t, "forger");
    expect(contract.checkTopicData("telescope/seestar-001/state", deltaChanges)).toEqual({
      ok: true,
    });
    expect(await publishOver(forger, "s", "telescope/seestar-001/status", valid)).toMatchObject(
      forbidden,
    );
    expect(await publishOver(forger, "f", "telescope/seestar-001/state", deltaFull)).toMatchObject(
      forbidden,
    );
    expect(
      await publishOver(forger, "d", "telescope/seestar-001/state", deltaChanges),
    ).toMatchObject(forbidden);
    expect((await t.server.broker.head("telescope/seestar-001/state")).offset).toBe(0);
    expect(await publishOver(forger, "c", "chat/lobby", valid)).toMatchObject({
      ok: true,
      result: { offset: 1 },
    });
    await stillOpenOver(forger);
  });

  it("takes a publish the authorize hook allows", async () => {
    const t = await server({
      authorize: (_principal, topic, action, { byDefault }) =>
        byDefault || (action === "publish" && topic === "demo/notes"),
    });
    const writer = await wireClient(t, "writer");
    expect(await publishOver(writer, "n", "demo/notes", { text: "hi" })).toMatchObject({
      ok: true,
    });
    expect(await publishOver(writer, "t", "demo/ticks", { n: 1 })).toMatchObject(forbidden);
  });
});
