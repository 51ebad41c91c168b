import { afterEach, describe, expect, it } from "vitest";
import { AuthError, type ServerOptions } from "../src/index.js";
import {
  connect,
  connectClosedAfterEach,
  createDisposer,
  ofType,
  serverClosedAfterEach,
  within,
} from "./helpers.js";

// PROTOCOL.md, "Session control": the server closes a client's or a user's connections on
// request (4403 for revoked access, fatal for clients) and lists a user's live sessions.

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);

const byToken: Pick<ServerOptions<string>, "authenticate"> = {
  authenticate: (_request, handshake) => {
    if (!handshake.token) throw new AuthError("no user");
    return handshake.token;
  },
};

async function userClient(s: { readonly port: number }, clientId: string, user: string) {
  const client = await connect(s, clientId, `&token=${user}`);
  disposer.add(() => client.close());
  return client;
}

describe("session control", () => {
  it("closes every connection of a user with 4403 and the reason, and nobody else's", async () => {
    const s = await server(byToken);
    const one = await userClient(s, "ada-1", "ada");
    const two = await userClient(s, "ada-2", "ada");
    const bob = await userClient(s, "bob-1", "bob");
    await s.disconnect({ user: "ada" }, { reason: "access revoked" });
    expect(await within(one.closed, "ada-1 closed")).toEqual({
      code: 4403,
      reason: "access revoked",
    });
    expect(await within(two.closed, "ada-2 closed")).toMatchObject({ code: 4403 });
    bob.send({ type: "ping" });
    await bob.next(ofType("pong"));
    await expect.poll(() => s.sessions({ user: "ada" })).toEqual([]);
  });

  it("closes one client with the code asked for", async () => {
    const s = await server(byToken);
    const one = await userClient(s, "ada-1", "ada");
    const two = await userClient(s, "ada-2", "ada");
    await s.disconnect({ clientId: "ada-2" }, { code: 4401, reason: "sign in again" });
    expect(await within(two.closed, "ada-2 closed")).toEqual({
      code: 4401,
      reason: "sign in again",
    });
    one.send({ type: "ping" });
    await one.next(ofType("pong"));
  });

  it("refuses a close code a server may not send and a malformed target", async () => {
    const s = await server();
    for (const code of [1005, 1006, 2000, 5000, 4403.5]) {
      await expect(s.disconnect({ user: "x" }, { code })).rejects.toMatchObject({
        code: "LIFELINE_INVALID_OPTIONS",
      });
    }
    await expect(s.disconnect({ user: "" })).rejects.toMatchObject({
      code: "LIFELINE_INVALID_OPTIONS",
    });
  });

  it("lists the live sessions of a user, without anything secret", async () => {
    const s = await server(byToken);
    const c = await userClient(s, "ada-1", "ada");
    await userClient(s, "bob-1", "bob");
    const sessions = await s.sessions({ user: "ada" });
    expect(sessions).toEqual([
      {
        connectionId: c.hello.connection_id,
        clientId: "ada-1",
        user: "ada",
        role: "test",
        node: expect.stringMatching(/^n-/),
        connectedAt: expect.any(Number),
      },
    ]);
    await c.close();
    await expect.poll(() => s.sessions({ user: "ada" })).toEqual([]);
  });

  it("counts anonymous clients as the user anonymous", async () => {
    const s = await server();
    const c = await connectClosedAfterEach(disposer, s, "anon-1");
    expect((await s.sessions({ user: "anonymous" })).map((x) => x.clientId)).toEqual(["anon-1"]);
    await s.disconnect({ clientId: "anon-1" });
    expect((await within(c.closed, "closed")).code).toBe(4403);
  });
});
