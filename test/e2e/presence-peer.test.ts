import { createServer, type LifelineServer } from "@lifeline/server";
import { connect, createDisposer, type TestClient } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { type PeerEvent, skipWithoutPython, startPythonPeer } from "./python-peer.js";

// An independent peer: presence_peer.py, written in Python from PROTOCOL.md alone (its
// own WebSocket on a bare socket), queries a topic's presence and follows its diffs
// against the TypeScript server, seeing a TypeScript client join and leave.

interface PresenceAnswer {
  readonly count: number;
  readonly members: { client_id: string; joined_at: number }[];
}

const disposer = createDisposer();
afterEach(() => disposer.run());

const membersAre = (ids: string[]) => (e: PeerEvent) =>
  e.event === "members" && JSON.stringify(e.members) === JSON.stringify([...ids].sort());

describe.skipIf(skipWithoutPython())("an independent Python peer", () => {
  it("queries presence and follows its diffs as PROTOCOL.md says", async () => {
    const server: LifelineServer = await createServer({
      port: 0,
      logger: false,
      presence: { topics: () => true, graceMs: 300, diffIntervalMs: 20 },
    });
    disposer.add(() => server.close({ drainTimeoutMs: 200 }));
    const peer = startPythonPeer("presence_peer.py", [
      String(server.port),
      "observatory/dome",
      "py-peer",
    ]);
    disposer.add(() => peer.kill());

    await peer.next(membersAre(["py-peer"]), "the peer sees itself");
    const ts: TestClient = await connect(server, "ts-client");
    disposer.add(() => ts.close());
    ts.send({ type: "subscribe", id: "s1", topic: "observatory/dome" });
    await peer.next(membersAre(["py-peer", "ts-client"]), "the peer sees the join");

    peer.command("query");
    const answer = await peer.next((e) => e.event === "answer", "the peer's query");
    const result = answer.result as PresenceAnswer;
    expect(result.count).toBe(2);
    expect(result.members.map((m) => m.client_id).sort()).toEqual(["py-peer", "ts-client"]);

    await ts.close();
    await peer.next(
      membersAre(["py-peer"]),
      "the peer sees the leave after the grace period",
      peer.events.length,
    );
    expect(await peer.stop("quit")).toBe(0);
    expect(peer.events.filter((e) => e.event === "error")).toEqual([]);
  });
});
