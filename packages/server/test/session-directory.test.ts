import { describe, expect, it } from "vitest";
import type { SessionRecord } from "../src/broker.js";
import { createLocalSessionDirectory } from "../src/session-directory.js";
import { createFakeClock } from "./helpers.js";

// The server's own session directory: live sessions, and closed ones kept as direct-message
// recipients for the linger period (PROTOCOL.md, "Direct messages").

const record = (connectionId: string, clientId: string, user: string): SessionRecord => ({
  connectionId,
  clientId,
  user,
  role: "test",
  node: "n-1",
  connectedAt: 0,
});

describe("local session directory", () => {
  it("lists live sessions per user and keeps closed clients as recipients for the linger", async () => {
    const clock = createFakeClock();
    const directory = createLocalSessionDirectory({ clock, lingerMs: 1000 });
    const a1 = record("c1", "tab-a", "ada");
    const a2 = record("c2", "tab-b", "ada");
    await directory.add(a1);
    await directory.add(a2);
    await directory.add(record("c3", "tab-c", "bob"));
    expect((await directory.live("ada")).map((s) => s.connectionId)).toEqual(["c1", "c2"]);
    await directory.remove(a1);
    expect((await directory.live("ada")).map((s) => s.connectionId)).toEqual(["c2"]);
    expect(await directory.recipients({ user: "ada" })).toEqual([
      { user: "ada", clientId: "tab-b" },
      { user: "ada", clientId: "tab-a" },
    ]);
    expect(await directory.recipients({ clientId: "tab-a" })).toEqual([
      { user: "ada", clientId: "tab-a" },
    ]);
    clock.advance(1000);
    expect(await directory.recipients({ user: "ada" })).toEqual([
      { user: "ada", clientId: "tab-b" },
    ]);
    expect(await directory.recipients({ clientId: "tab-a" })).toEqual([]);
  });

  it("keeps the newer connection of a client that was taken over", async () => {
    const clock = createFakeClock();
    const directory = createLocalSessionDirectory({ clock, lingerMs: 1000 });
    const older = record("c1", "tab", "ada");
    const newer = record("c2", "tab", "ada");
    await directory.add(older);
    await directory.add(newer);
    await directory.remove(older);
    expect((await directory.live("ada")).map((s) => s.connectionId)).toEqual(["c2"]);
    clock.advance(5000);
    expect(await directory.recipients({ clientId: "tab" })).toEqual([
      { user: "ada", clientId: "tab" },
    ]);
  });

  it("gives a client_id to its latest holder, and forgets nothing twice", async () => {
    const clock = createFakeClock();
    const directory = createLocalSessionDirectory({ clock, lingerMs: 1000 });
    const ada = record("c1", "shared", "ada");
    await directory.add(ada);
    await directory.remove(ada);
    await directory.remove(ada);
    const bob = record("c2", "shared", "bob");
    await directory.add(bob);
    expect(await directory.recipients({ clientId: "shared" })).toEqual([
      { user: "bob", clientId: "shared" },
    ]);
    // Ada's lingering entry still makes her a recipient of messages to her, not to bob's tab.
    expect(await directory.recipients({ user: "ada" })).toEqual([
      { user: "ada", clientId: "shared" },
    ]);
  });

  it("keeps nothing after a close when the linger is 0", async () => {
    const directory = createLocalSessionDirectory({ clock: createFakeClock(), lingerMs: 0 });
    const ada = record("c1", "tab", "ada");
    await directory.add(ada);
    await directory.remove(ada);
    expect(await directory.recipients({ user: "ada" })).toEqual([]);
    expect(await directory.recipients({ clientId: "tab" })).toEqual([]);
  });
});
