import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createServer, type LifelineServer } from "@lifeline/server";
import { connect, skipWithout, type TestClient, within } from "@lifeline/test-support";
import { afterEach, describe, expect, it } from "vitest";

// An independent peer: presence_peer.py, written in Python from PROTOCOL.md alone (its
// own WebSocket on a bare socket), queries a topic's presence and follows its diffs
// against the TypeScript server, seeing a TypeScript client join and leave.

const peerPath = fileURLToPath(new URL("./peers/presence_peer.py", import.meta.url));
const python = spawnSync("python3", ["--version"], { encoding: "utf8" });
const skip = skipWithout(
  "python3 (scripts/ensure-system-deps.sh python)",
  python.status === 0 ? { ok: true } : { ok: false, reason: "python3 is not installed" },
);

interface PeerEvent {
  readonly event: "members" | "answer" | "error";
  readonly members?: string[];
  readonly count?: number;
  readonly result?: { count: number; members: { client_id: string; joined_at: number }[] };
  readonly message?: string;
}

/** The Python peer as a child process, and a wait on the events it prints. */
function startPeer(port: number, topic: string, clientId: string) {
  const child: ChildProcessWithoutNullStreams = spawn("python3", [
    peerPath,
    String(port),
    topic,
    clientId,
  ]);
  const events: PeerEvent[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  let rest = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as PeerEvent);
    for (const wake of [...waiters]) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    events,
    command: (line: string) => child.stdin.write(`${line}\n`),
    next(predicate: (event: PeerEvent) => boolean, label: string): Promise<PeerEvent> {
      const find = () => events.find((e) => e.event === "error" || predicate(e));
      return within(
        new Promise<PeerEvent>((resolve) => {
          const wake = () => {
            const found = find();
            if (!found) return;
            waiters.delete(wake);
            resolve(found);
          };
          waiters.add(wake);
          wake();
        }),
        `${label} (peer printed ${JSON.stringify(events)}; stderr ${stderr})`,
        15_000,
      );
    },
    async stop(): Promise<number | null> {
      if (child.exitCode === null) child.stdin.end("quit\n");
      return within(exited, "the peer exits", 5000);
    },
    kill: () => child.kill("SIGKILL"),
  };
}

const disposers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

const membersAre = (ids: string[]) => (e: PeerEvent) =>
  e.event === "members" && JSON.stringify(e.members) === JSON.stringify([...ids].sort());

describe.skipIf(skip)("an independent Python peer", () => {
  it("queries presence and follows its diffs as PROTOCOL.md says", async () => {
    const server: LifelineServer = await createServer({
      port: 0,
      logger: false,
      presence: { topics: () => true, graceMs: 300, diffIntervalMs: 20 },
    });
    disposers.push(() => server.close({ drainTimeoutMs: 200 }));
    const peer = startPeer(server.port, "observatory/dome", "py-peer");
    disposers.push(() => peer.kill());

    await peer.next(membersAre(["py-peer"]), "the peer sees itself");
    const ts: TestClient = await connect(server, "ts-client");
    disposers.push(() => ts.close());
    ts.send({ type: "subscribe", id: "s1", topic: "observatory/dome" });
    await peer.next(membersAre(["py-peer", "ts-client"]), "the peer sees the join");

    peer.command("query");
    const answer = await peer.next((e) => e.event === "answer", "the peer's query");
    expect(answer.result?.count).toBe(2);
    expect(answer.result?.members.map((m) => m.client_id).sort()).toEqual(["py-peer", "ts-client"]);

    await ts.close();
    const left = peer.events.length;
    await peer.next(
      (e) => peer.events.indexOf(e) >= left && membersAre(["py-peer"])(e),
      "the peer sees the leave after the grace period",
    );
    expect(await peer.stop()).toBe(0);
    expect(peer.events.filter((e) => e.event === "error")).toEqual([]);
  });
});
