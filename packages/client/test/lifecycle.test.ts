import { describe, expect, it } from "vitest";
import { setupClient } from "./helpers/setup.js";

describe("every state transition carries its cause", () => {
  it("walks idle, connecting, open, degraded, reconnecting, failed and closed", async () => {
    const { client, sockets, clock, changes } = setupClient({ lazy: true });
    client.connect();
    const first = await sockets.nth(0);
    first.accept({ heartbeat_interval_ms: 25_000 });
    clock.advance(30_000);
    first.receive({ type: "pong" });
    first.serverClose(1006);
    clock.runNext();
    (await sockets.nth(1)).fail("connect ECONNREFUSED 127.0.0.1:9");
    clock.runNext();
    const third = await sockets.nth(2);
    third.accept();
    third.serverClose(4401, "token expired");
    client.reconnect();
    (await sockets.nth(3)).accept();
    client.close();

    expect(changes.map(({ prev, next, cause }) => ({ prev, next, cause }))).toEqual([
      { prev: "idle", next: "connecting", cause: { reason: "connect() was called" } },
      { prev: "connecting", next: "open", cause: { reason: "the server said hello" } },
      {
        prev: "open",
        next: "degraded",
        cause: { reason: "no frame from the server for 30000 ms", errorClass: "timeout" },
      },
      { prev: "degraded", next: "open", cause: { reason: "the server answered again" } },
      {
        prev: "open",
        next: "reconnecting",
        cause: { code: 1006, reason: "the connection closed (1006)", errorClass: "abnormal" },
      },
      { prev: "reconnecting", next: "connecting", cause: { reason: "retry 1 after 500 ms" } },
      {
        prev: "connecting",
        next: "reconnecting",
        cause: {
          code: 1006,
          reason: "the socket could not be opened: connect ECONNREFUSED 127.0.0.1:9",
          errorClass: "network",
        },
      },
      { prev: "reconnecting", next: "connecting", cause: { reason: "retry 2 after 1000 ms" } },
      { prev: "connecting", next: "open", cause: { reason: "the server said hello" } },
      {
        prev: "open",
        next: "failed",
        cause: { code: 4401, reason: "token expired", errorClass: "auth" },
      },
      { prev: "failed", next: "connecting", cause: { reason: "reconnect() was called" } },
      { prev: "connecting", next: "open", cause: { reason: "the server said hello" } },
      {
        prev: "open",
        next: "closed",
        cause: { code: 1000, reason: "closed by the application" },
      },
    ]);
    expect(changes.map((c) => c.snapshot.state)).toEqual(changes.map((c) => c.next));
  });
});
