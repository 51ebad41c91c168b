import { table } from "@lifeline/backoff";
import { describe, expect, it } from "vitest";
import { setupClient } from "./helpers/setup.js";

// `ws` names the HTTP status of a refused upgrade in its error (browsers hide it).
const REFUSED_503 = "Unexpected server response: 503";
const REFUSED_429 = "Unexpected server response: 429";

const twoNodes = { url: ["ws://a.test/ws", "ws://b.test/ws"] };
const hostOf = (socket: { url: string }) => new URL(socket.url).host;

describe("failing over between URLs when a node is unavailable", () => {
  it("tries the next URL at once when a node refuses the upgrade with 503", async () => {
    const { client, sockets, clock, changes } = setupClient(twoNodes);
    (await sockets.nth(0)).fail(REFUSED_503);
    expect(clock.pending()).toEqual([0]);
    expect(client.getSnapshot()).toMatchObject({ state: "reconnecting", nextRetryAt: clock.now() });
    expect(changes.at(-1)?.cause).toMatchObject({ errorClass: "handshake" });
    clock.runNext();
    const second = await sockets.nth(1);
    expect(hostOf(second)).toBe("b.test");
    second.accept();
    expect(client.status).toBe("open");
    client.close();
  });

  it("backs off as for 4429 once every URL has refused with 503 in a row", async () => {
    const { client, sockets, clock } = setupClient(twoNodes);
    (await sockets.nth(0)).fail(REFUSED_503);
    clock.runNext();
    (await sockets.nth(1)).fail(REFUSED_503);
    // The schedule's first step at random 0.5 is 500 ms: 5 s floor + 3 x 500.
    expect(clock.pending()).toEqual([5000 + 500 * 3]);
    clock.runNext();
    const third = await sockets.nth(2);
    expect(hostOf(third)).toBe("a.test");
    // A new round: a's refusal sends the client straight to b again.
    third.fail(REFUSED_503);
    expect(clock.pending()).toEqual([0]);
    clock.runNext();
    (await sockets.nth(3)).fail(REFUSED_503);
    expect(clock.pending()).toEqual([5000 + 1000 * 3]);
    expect(sockets.all.map(hostOf)).toEqual(["a.test", "b.test", "a.test", "b.test"]);
    client.close();
  });

  it("keeps the per-node backoff for HTTP 429 (a rate limit on this client, not a node down)", async () => {
    const { client, sockets, clock } = setupClient(twoNodes);
    (await sockets.nth(0)).fail(REFUSED_429);
    expect(clock.pending()).toEqual([5000 + 500 * 3]);
    clock.runNext();
    expect(hostOf(await sockets.nth(1))).toBe("b.test");
    client.close();
  });

  it("backs off on 503 with a single URL, as before", async () => {
    const { client, sockets, clock } = setupClient();
    (await sockets.nth(0)).fail(REFUSED_503);
    expect(clock.pending()).toEqual([5000 + 500 * 3]);
    client.close();
  });

  it("moves to the next URL after a shutdown, waiting reconnect_after_ms", async () => {
    const { client, sockets, clock } = setupClient(twoNodes);
    const first = await sockets.nth(0);
    first.accept();
    first.receive({
      type: "shutdown",
      reason: "message broker unavailable",
      reconnect_after_ms: 600,
    });
    first.serverClose(1012, "message broker unavailable");
    expect(clock.pending()).toEqual([600 + 0.5 * 1000]);
    clock.runNext();
    const second = await sockets.nth(1);
    expect(hostOf(second)).toBe("b.test");
    // b refuses as well: every node is down, so back off before asking a again.
    second.fail(REFUSED_503);
    expect(clock.pending()).toEqual([5000 + 500 * 3]);
    client.close();
  });

  it("moves to the next URL at once on a 1012 without a shutdown message", async () => {
    const { client, sockets, clock } = setupClient(twoNodes);
    const first = await sockets.nth(0);
    first.accept();
    first.serverClose(1012, "service restart");
    expect(clock.pending()).toEqual([0]);
    clock.runNext();
    expect(hostOf(await sockets.nth(1))).toBe("b.test");
    client.close();
  });

  it("stays on the node after other drops of a connection that was up", async () => {
    const { client, sockets, clock } = setupClient(twoNodes);
    const first = await sockets.nth(0);
    first.accept();
    first.serverClose(1011, "internal error");
    expect(clock.pending()).toEqual([500]);
    clock.runNext();
    expect(hostOf(await sockets.nth(1))).toBe("a.test");
    client.close();
  });

  it("gives up after the schedule's attempts however many nodes refuse", async () => {
    const { client, sockets, clock } = setupClient({
      ...twoNodes,
      backoff: table({ delaysMs: [100], jitterRatio: 0, maxAttempts: 3 }),
    });
    for (let i = 0; i < 20 && client.status !== "failed"; i++) {
      (await sockets.nth(i)).fail(REFUSED_503);
      clock.runNext();
    }
    // Each round of two refusals takes one step of the three: the fourth round ends it.
    expect(sockets.all).toHaveLength(8);
    expect(client.getSnapshot().cause?.reason).toMatch(/^gave up after 7 attempts/);
    client.close();
  });
});
