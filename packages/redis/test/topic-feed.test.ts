import type { LogEntry } from "@lifeline/server";
import { describe, expect, it } from "vitest";
import type { TopicRead } from "../src/sequencer.js";
import { createTopicFeed } from "../src/topic-feed.js";
import { createLogRecorder, range } from "./helpers.js";

function entry(offset: number, epoch = "e1"): LogEntry {
  return { topic: "t", offset, epoch, data: { n: offset }, ts: 1000 + offset };
}

/** A feed whose reads the test answers by hand, in any order relative to live entries. */
function harness() {
  const reads: { after: number; headOnly: boolean; answer: (read: TopicRead) => void }[] = [];
  const rotations: string[] = [];
  const delivered: LogEntry[] = [];
  const feed = createTopicFeed({
    topic: "t",
    logger: createLogRecorder(),
    read: (after, headOnly) =>
      new Promise<TopicRead>((answer) => reads.push({ after, headOnly, answer })),
    rotate: async (epoch) => {
      rotations.push(epoch);
    },
  });
  feed.add((e) => delivered.push(e));
  return { feed, reads, rotations, delivered };
}

/** Lets the feed's pending promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("topic feed", () => {
  it("keeps the epoch when live entries are delivered while a resync read is in flight", async () => {
    const { feed, reads, rotations, delivered } = harness();
    const started = feed.start();
    reads.shift()?.answer({ epoch: "e1", head: 0, entries: [] });
    await started;
    for (const n of range(1, 3)) feed.push(entry(n));

    // A reconnect asks for a resync at offset 3; offsets 4 and 5 arrive live before the
    // read's reply, which Redis made when its head was still 3.
    feed.resync();
    const read = reads.shift();
    expect(read).toMatchObject({ after: 2, headOnly: false });
    feed.push(entry(4));
    feed.push(entry(5));
    read?.answer({ epoch: "e1", head: 3, entries: [entry(3)] });
    await settle();

    expect(rotations).toEqual([]);
    expect(delivered.map((e) => e.offset)).toEqual(range(1, 5));
  });

  it("starts a new epoch when Redis has another entry at the last delivered offset", async () => {
    const { feed, reads, rotations } = harness();
    const started = feed.start();
    reads.shift()?.answer({ epoch: "e1", head: 0, entries: [] });
    await started;
    for (const n of range(1, 3)) feed.push(entry(n));

    feed.resync();
    // Redis came back from a lossy restart: offset 3 now holds another message.
    reads.shift()?.answer({ epoch: "e1", head: 3, entries: [{ ...entry(3), data: "other" }] });
    await settle();
    expect(rotations).toEqual(["e1"]);
  });
});

describe("topic feed after a lost connection", () => {
  it("holds live entries until a fill has checked what Redis kept, so a reused offset starts a new epoch", async () => {
    const { feed, reads, rotations, delivered } = harness();
    const started = feed.start();
    reads.shift()?.answer({ epoch: "e1", head: 0, entries: [] });
    await started;
    for (const n of range(1, 3)) feed.push(entry(n));

    // The connection drops; the promoted replica never had offset 3, and another node's
    // appends took offsets 3 and 4 there. Offset 4 arrives live before the resync's read.
    feed.suspend();
    const other = (offset: number): LogEntry => ({ ...entry(offset), data: { other: offset } });
    feed.push(other(4));
    expect(delivered.map((e) => e.offset)).toEqual(range(1, 3));
    feed.resync();
    const read = reads.shift();
    expect(read).toMatchObject({ after: 2, headOnly: false });
    read?.answer({ epoch: "e1", head: 4, entries: [other(3), other(4)] });
    await settle();

    expect(rotations).toEqual(["e1"]);
    reads.shift()?.answer({ epoch: "e2", head: 0, entries: [] });
    await settle();
    expect(delivered.map((e) => [e.epoch, e.offset])).toEqual([
      ["e1", 1],
      ["e1", 2],
      ["e1", 3],
    ]);
  });

  it("delivers the held entries once the fill finds Redis unchanged", async () => {
    const { feed, reads, rotations, delivered } = harness();
    const started = feed.start();
    reads.shift()?.answer({ epoch: "e1", head: 0, entries: [] });
    await started;
    for (const n of range(1, 3)) feed.push(entry(n));
    feed.suspend();
    feed.push(entry(5));
    feed.resync();
    reads.shift()?.answer({ epoch: "e1", head: 4, entries: [entry(3), entry(4)] });
    await settle();
    expect(rotations).toEqual([]);
    expect(delivered.map((e) => e.offset)).toEqual(range(1, 5));
  });
});
