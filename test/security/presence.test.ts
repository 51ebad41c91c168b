import { AuthError } from "@lifeline/server";
import { afterEach, describe, expect, it } from "vitest";
import { type RawConnection, rawConnect } from "./support/raw-socket.js";
import { httpGet, startServer } from "./support/server.js";

// Presence (PROTOCOL.md, "Presence") asked by a client that should not see it: a topic it
// may not subscribe to is refused, whether asked once or followed with presence: true, and
// the connection stays; and no credential ever reaches presence output, the logs, the
// status page or the metrics, even when the application's principal carries the token.

const TOKENS = { "tok-ALICE-SECRET-5e1f": "alice", "tok-MALLORY-SECRET-0b9d": "mallory" };
const secrets = Object.keys(TOKENS);

const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

const leaks = (text: string) => secrets.filter((secret) => text.includes(secret));

async function start() {
  const t = await startServer<{ id: string; token: string }>({
    status: { enabled: true },
    presence: { topics: () => true, diffIntervalMs: 20 },
    authenticate: (_request, handshake) => {
      const user = TOKENS[handshake.token as keyof typeof TOKENS];
      if (user === undefined) throw new AuthError("unknown token");
      // A principal that carries its token, as applications' often do.
      return { id: user, token: handshake.token ?? "" };
    },
    authorize: (principal, topic) => !topic.startsWith("ops/") || principal.id === "alice",
  });
  disposers.push(() => t.close());
  return t;
}

async function join(port: number, clientId: string, token: string): Promise<RawConnection> {
  const connection = await rawConnect({
    port,
    path: `/ws?client_id=${clientId}&version=1&role=test&token=${token}`,
  });
  disposers.push(() => connection.destroy());
  await connection.next((m) => m.type === "hello");
  return connection;
}

const answerTo = (connection: RawConnection, id: string) =>
  connection.next((m) => m.id === id && (m.type === "response" || m.type === "subscribed"));

describe("presence security", () => {
  it("refuses presence of a topic the client may not subscribe to, asked or followed", async () => {
    const t = await start();
    const alice = await join(t.port, "alice-tab", "tok-ALICE-SECRET-5e1f");
    const mallory = await join(t.port, "mallory-tab", "tok-MALLORY-SECRET-0b9d");
    alice.send(JSON.stringify({ type: "subscribe", id: "a1", topic: "ops/dome", presence: true }));
    expect(await answerTo(alice, "a1")).toMatchObject({ type: "subscribed" });

    mallory.send(JSON.stringify({ type: "presence", id: "m1", topic: "ops/dome" }));
    expect(await answerTo(mallory, "m1")).toEqual({
      type: "response",
      id: "m1",
      ok: false,
      error: { code: "forbidden", message: 'not allowed to see the presence of "ops/dome"' },
    });
    mallory.send(
      JSON.stringify({ type: "subscribe", id: "m2", topic: "ops/dome", presence: true }),
    );
    expect(await answerTo(mallory, "m2")).toMatchObject({
      ok: false,
      error: { code: "forbidden" },
    });
    // Alice leaving and joining again is never shown to mallory, who is still connected.
    alice.send(JSON.stringify({ type: "unsubscribe", id: "a2", topic: "ops/dome" }));
    alice.send(JSON.stringify({ type: "subscribe", id: "a3", topic: "ops/dome" }));
    await answerTo(alice, "a3");
    mallory.send(JSON.stringify({ type: "ping" }));
    await mallory.next((m) => m.type === "pong");
    expect(
      mallory.messages.filter((m) => (m as { type: string }).type === "presence_diff"),
    ).toEqual([]);
  });

  it("never writes a token to presence answers, diffs, logs, status or metrics", async () => {
    const t = await start();
    const alice = await join(t.port, "alice-tab", "tok-ALICE-SECRET-5e1f");
    const mallory = await join(t.port, "mallory-tab", "tok-MALLORY-SECRET-0b9d");
    alice.send(JSON.stringify({ type: "subscribe", id: "a1", topic: "room", presence: true }));
    mallory.send(JSON.stringify({ type: "subscribe", id: "m1", topic: "room", presence: true }));
    await answerTo(alice, "a1");
    await answerTo(mallory, "m1");
    await alice.next(
      (m) =>
        m.type === "presence_diff" &&
        (m.joins as { user: string }[]).some((member) => member.user === "mallory"),
    );
    mallory.send(JSON.stringify({ type: "presence", id: "m2", topic: "room" }));
    const answer = await answerTo(mallory, "m2");
    expect(answer).toMatchObject({ ok: true, result: { count: 2 } });
    expect(
      (answer.result as { members: { user: string }[] }).members.map((m) => m.user).sort(),
    ).toEqual(["alice", "mallory"]);
    mallory.destroy();
    const status = await httpGet(t.port, "/api/websocket/status");
    const metrics = await httpGet(t.port, "/metrics");
    await t.close();

    const everything = [
      JSON.stringify(alice.messages),
      JSON.stringify(mallory.messages),
      t.logs.raw.join("\n"),
      status.body,
      metrics.body,
    ].join("\n");
    expect(t.logs.raw.length).toBeGreaterThan(3);
    expect(everything).toContain("mallory");
    expect(leaks(everything)).toEqual([]);
  });
});
