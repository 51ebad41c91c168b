import { describe, expect, it } from "vitest";
import { readHistoryPage } from "../src/history.js";
import { createMemoryBroker } from "../src/index.js";

async function brokerWith(count: number, maxMessages = 1000) {
  const broker = createMemoryBroker({ maxMessages, epoch: "e1" });
  for (let i = 1; i <= count; i += 1) await broker.append("t", `m${i}`);
  return broker;
}

const offsets = (page: { messages: readonly { offset: number }[] }) =>
  page.messages.map((m) => m.offset);

describe("readHistoryPage", () => {
  it("backward without since gives the newest first, and next pages down to the oldest", async () => {
    const broker = await brokerWith(7);
    const first = await readHistoryPage(broker, {
      topic: "t",
      since: undefined,
      limit: 3,
      direction: "backward",
    });
    expect(offsets(first)).toEqual([7, 6, 5]);
    expect(first).toMatchObject({ topic: "t", epoch: "e1", head: 7, next: { offset: 5 } });
    expect(first.messages[0]).toEqual({ offset: 7, data: "m7", ts: expect.any(Number) });
    const second = await readHistoryPage(broker, {
      topic: "t",
      since: first.next,
      limit: 3,
      direction: "backward",
    });
    expect(offsets(second)).toEqual([4, 3, 2]);
    const last = await readHistoryPage(broker, {
      topic: "t",
      since: second.next,
      limit: 3,
      direction: "backward",
    });
    expect(offsets(last)).toEqual([1]);
    expect(last.next).toBeUndefined();
  });

  it("forward without since starts at the oldest retained and pages up to the head", async () => {
    const broker = await brokerWith(10, 6);
    const pages: number[][] = [];
    let since: { offset: number; epoch: string } | undefined;
    for (let i = 0; i < 5; i += 1) {
      const page = await readHistoryPage(broker, {
        topic: "t",
        since,
        limit: 4,
        direction: "forward",
      });
      pages.push(offsets(page));
      since = page.next;
      if (!since) break;
    }
    expect(pages).toEqual([
      [5, 6, 7, 8],
      [9, 10],
    ]);
  });

  it("a page that ends exactly at the last message has no next", async () => {
    const broker = await brokerWith(4);
    const forward = await readHistoryPage(broker, {
      topic: "t",
      since: undefined,
      limit: 4,
      direction: "forward",
    });
    expect(forward.next).toBeUndefined();
    const backward = await readHistoryPage(broker, {
      topic: "t",
      since: undefined,
      limit: 4,
      direction: "backward",
    });
    expect(offsets(backward)).toEqual([4, 3, 2, 1]);
    expect(backward.next).toBeUndefined();
  });

  it("a since of another epoch gives an empty page under the current epoch", async () => {
    const broker = await brokerWith(3);
    for (const direction of ["forward", "backward"] as const) {
      const page = await readHistoryPage(broker, {
        topic: "t",
        since: { offset: 2, epoch: "gone" },
        limit: 10,
        direction,
      });
      expect(page).toEqual({ topic: "t", epoch: "e1", head: 3, messages: [] });
    }
  });

  it("an empty topic gives an empty page at head 0", async () => {
    const broker = await brokerWith(0);
    const page = await readHistoryPage(broker, {
      topic: "t",
      since: undefined,
      limit: 10,
      direction: "backward",
    });
    expect(page).toMatchObject({ head: 0, messages: [] });
    expect(page.next).toBeUndefined();
  });

  it("sends null for a message whose data was undefined", async () => {
    const broker = createMemoryBroker({ epoch: "e1" });
    await broker.append("t", undefined);
    const page = await readHistoryPage(broker, {
      topic: "t",
      since: undefined,
      limit: 1,
      direction: "forward",
    });
    expect(page.messages[0]?.data).toBeNull();
  });
});
