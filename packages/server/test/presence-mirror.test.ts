import type { PresenceEntry } from "@lifeline/protocol";
import { describe, expect, it } from "vitest";
import { PresenceMirror } from "../src/presence/mirror.js";
import { encodeDiffs, MAX_DIFF_MEMBERS } from "../src/presence/presence.js";

// The per-topic mirror behind presence answers and diffs (PROTOCOL.md, "Presence"): changes
// within a tick are netted, and an answer is the members as of the last diff, so the
// answer and the diffs after it always add up to the members.

const entry = (clientId: string): PresenceEntry => ({ clientId, joinedAt: 1 });
const ids = (entries: readonly PresenceEntry[]) => entries.map((e) => e.clientId).sort();

function started(members: string[] = []) {
  const mirror = new PresenceMirror<object>("room");
  mirror.start({ members: members.map(entry), stop: async () => {} });
  return mirror;
}

describe("presence mirror", () => {
  it("nets the changes of a tick: a leave and a join of one client are no change", () => {
    const mirror = started(["a", "b"]);
    mirror.apply({ topic: "room", joins: [], leaves: [entry("a")] });
    mirror.apply({ topic: "room", joins: [entry("a"), entry("c")], leaves: [] });
    mirror.apply({ topic: "room", joins: [], leaves: [entry("b")] });
    const delta = mirror.takeDelta();
    expect(ids(delta.joins)).toEqual(["c"]);
    expect(ids(delta.leaves)).toEqual(["b"]);
    expect(mirror.dirty).toBe(false);
  });

  it("answers as of the last diff, so a change within the tick is reported once, by its diff", () => {
    const mirror = started(["a"]);
    mirror.apply({ topic: "room", joins: [], leaves: [entry("a")] });
    mirror.apply({ topic: "room", joins: [entry("b")], leaves: [] });
    // Asked mid-tick: a is still there, b not yet; the next diff says both.
    expect(ids(mirror.published())).toEqual(["a"]);
    const delta = mirror.takeDelta();
    expect(ids(delta.leaves)).toEqual(["a"]);
    expect(ids(delta.joins)).toEqual(["b"]);
    expect(ids(mirror.published())).toEqual(["b"]);
  });

  it("applies changes that arrived before its snapshot after it", () => {
    const mirror = new PresenceMirror<object>("room");
    mirror.apply({ topic: "room", joins: [entry("late")], leaves: [] });
    mirror.start({ members: [entry("early")], stop: async () => {} });
    expect([...mirror.members.keys()].sort()).toEqual(["early", "late"]);
  });
});

describe("presence_diff encoding", () => {
  it(`splits a change of more than ${MAX_DIFF_MEMBERS} members into several diffs, leaves first`, () => {
    const joins = Array.from({ length: 700 }, (_, i) => entry(`j${i}`));
    const leaves = Array.from({ length: 400 }, (_, i) => entry(`l${i}`));
    const texts = encodeDiffs("room", { joins, leaves });
    const diffs = texts.map((t) => JSON.parse(t) as { joins: unknown[]; leaves: unknown[] });
    expect(diffs.map((d) => d.joins.length + d.leaves.length)).toEqual([500, 500, 100]);
    expect(diffs.reduce((n, d) => n + d.joins.length, 0)).toBe(700);
    expect(diffs.reduce((n, d) => n + d.leaves.length, 0)).toBe(400);
    expect(diffs[0]?.leaves).toHaveLength(400);
    expect(encodeDiffs("room", { joins: [], leaves: [] })).toEqual([]);
  });
});
