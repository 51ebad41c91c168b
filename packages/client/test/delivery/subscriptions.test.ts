import type { ResumePoint, SubscribedMessage, TopicMessage } from "@lifeline/protocol";
import { deferred } from "@lifeline/test-support";
import { describe, expect, it } from "vitest";
import type { Sender } from "../../src/delivery/sender.js";
import type { GapEvent } from "../../src/delivery/subscribe-options.js";
import { createSubscriptionRegistry } from "../../src/delivery/subscriptions.js";
import type { LifelineError } from "../../src/errors.js";
import type { PositionKeeper } from "../../src/positions/keeper.js";
import { ManualClock } from "../helpers/manual-clock.js";

function setup(features: readonly string[] = [], positions?: PositionKeeper) {
  let open = true;
  let counter = 0;
  const frames: Array<Record<string, unknown>> = [];
  const sender: Sender = {
    deliver: () => "sent",
    sendIfOpen(_type, message) {
      if (!open) return false;
      frames.push({ ...message });
      return true;
    },
    withdraw: () => {},
    nextId: (prefix) => `${prefix}${++counter}`,
  };
  const gaps: GapEvent[] = [];
  const errors: LifelineError[] = [];
  let duplicates = 0;
  const clock = new ManualClock();
  const registry = createSubscriptionRegistry({
    sender,
    clock,
    contract: undefined,
    validateIncoming: true,
    wantsPresence: () => false,
    serverFeatures: () => features,
    positions,
    events: {
      onGap: (gap) => gaps.push(gap),
      onError: (error) => errors.push(error),
      onDelivered: () => {},
      onDuplicate: () => duplicates++,
      onSubscribed: () => {},
    },
  });
  const lastSubscribe = () => {
    const frame = frames.filter((f) => f.type === "subscribe").at(-1);
    if (!frame) throw new Error("no subscribe sent");
    return frame as { id: string; topic: string; since?: { offset: number; epoch: string } };
  };
  const subscribed = (patch: Partial<SubscribedMessage>): SubscribedMessage => ({
    type: "subscribed",
    id: lastSubscribe().id,
    topic: "t",
    offset: 0,
    epoch: "e1",
    recovered: true,
    replayed: 0,
    ...patch,
  });
  const message = (offset: number, epoch = "e1"): TopicMessage => ({
    type: "message",
    topic: "t",
    offset,
    epoch,
    data: offset,
    ts: 0,
  });
  return {
    registry,
    clock,
    frames,
    gaps,
    errors,
    duplicates: () => duplicates,
    lastSubscribe,
    subscribed,
    message,
    setOpen: (value: boolean) => {
      open = value;
    },
  };
}

describe("subscription registry", () => {
  it("asks for conflated delivery only from a server that announces it", () => {
    const plain = setup();
    plain.registry.add("t", () => {}, {});
    expect(plain.lastSubscribe()).not.toHaveProperty("conflate");
    const offering = setup(["conflation"]);
    offering.registry.add("t", () => {}, { rewind: 1 });
    expect(offering.lastSubscribe()).toMatchObject({ rewind: 1, conflate: true });
  });

  it("takes an offset skip before a conflated message as superseded, not as a gap", () => {
    const t = setup(["conflation"]);
    const metas: unknown[] = [];
    t.registry.add("t", (_data, meta) => metas.push(meta), {});
    t.registry.handleSubscribed(t.subscribed({ offset: 3 }));
    t.registry.handleMessage({ ...t.message(9), conflated: true });
    expect(t.gaps).toEqual([]);
    expect(metas).toEqual([{ topic: "t", offset: 9, epoch: "e1", ts: 0, conflated: true }]);
    // An unmarked skip is still reported.
    t.registry.handleMessage(t.message(12));
    expect(t.gaps).toMatchObject([
      { reason: "offsets_skipped", lost: { fromOffset: 10, toOffset: 11 } },
    ]);
    expect(t.registry.position("t")).toEqual({ offset: 12, epoch: "e1" });
  });

  it("subscribes once per topic however many handlers, unsubscribes with the last", () => {
    const t = setup();
    const off1 = t.registry.add("t", () => {}, {});
    const off2 = t.registry.add("t", () => {}, {});
    expect(t.frames.filter((f) => f.type === "subscribe")).toHaveLength(1);
    off1();
    expect(t.frames.filter((f) => f.type === "unsubscribe")).toHaveLength(0);
    off2();
    off2();
    expect(t.frames.filter((f) => f.type === "unsubscribe")).toEqual([
      { type: "unsubscribe", id: "u2", topic: "t" },
    ]);
  });

  it("resumes from the offset `subscribed` reported when nothing was received yet", () => {
    const t = setup();
    t.registry.add("t", () => {}, {});
    t.registry.handleSubscribed(t.subscribed({ offset: 41 }));
    t.registry.connectionLost();
    t.registry.resubscribeAll();
    expect(t.lastSubscribe().since).toEqual({ offset: 41, epoch: "e1" });
  });

  it("resumes from the last delivered offset, and drops offsets already delivered", () => {
    const t = setup();
    const seen: number[] = [];
    t.registry.add("t", (data) => seen.push(data as number), {});
    t.registry.handleSubscribed(t.subscribed({ offset: 0 }));
    for (const offset of [1, 2, 3]) t.registry.handleMessage(t.message(offset));
    t.registry.connectionLost();
    t.registry.resubscribeAll();
    expect(t.lastSubscribe().since).toEqual({ offset: 3, epoch: "e1" });
    // A server replaying too much: 2 and 3 were delivered already.
    for (const offset of [2, 3, 4, 5]) t.registry.handleMessage(t.message(offset));
    t.registry.handleSubscribed(t.subscribed({ offset: 5, replayed: 4 }));
    t.registry.handleMessage(t.message(5));
    t.registry.handleMessage(t.message(6));
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.duplicates()).toBe(3);
    expect(t.gaps).toEqual([]);
  });

  it("holds the replay until `subscribed`, so the gap is reported before the data", () => {
    const t = setup();
    const order: string[] = [];
    t.registry.add("t", (data) => order.push(`data ${data}`), {
      onGap: (gap) => order.push(`gap ${gap.lost?.fromOffset}-${gap.lost?.toOffset}`),
    });
    t.registry.handleSubscribed(t.subscribed({ offset: 10 }));
    t.registry.connectionLost();
    t.registry.resubscribeAll();
    // History now starts at 16: 11..15 expired.
    for (const offset of [16, 17]) t.registry.handleMessage(t.message(offset));
    expect(order).toEqual([]);
    t.registry.handleSubscribed(t.subscribed({ offset: 17, recovered: false, replayed: 2 }));
    expect(order).toEqual(["gap 11-15", "data 16", "data 17"]);
    expect(t.gaps).toEqual([
      {
        topic: "t",
        reason: "history_expired",
        since: { offset: 10, epoch: "e1" },
        resumedAt: { offset: 17, epoch: "e1" },
        lost: { epoch: "e1", fromOffset: 11, toOffset: 15 },
      },
    ]);
  });

  it("reports an epoch change and continues in the new epoch", () => {
    const t = setup();
    const seen: string[] = [];
    t.registry.add("t", (_d, meta) => seen.push(`${meta.epoch}:${meta.offset}`), {});
    t.registry.handleSubscribed(t.subscribed({ offset: 0 }));
    for (const offset of [1, 2, 3]) t.registry.handleMessage(t.message(offset));
    t.registry.connectionLost();
    t.registry.resubscribeAll();
    t.registry.handleMessage(t.message(2, "e2"));
    t.registry.handleSubscribed(
      t.subscribed({ offset: 2, epoch: "e2", recovered: false, replayed: 1 }),
    );
    t.registry.handleMessage(t.message(3, "e2"));
    expect(seen).toEqual(["e1:1", "e1:2", "e1:3", "e2:2", "e2:3"]);
    expect(t.gaps).toEqual([
      {
        topic: "t",
        reason: "epoch_changed",
        since: { offset: 3, epoch: "e1" },
        resumedAt: { offset: 2, epoch: "e2" },
        lost: { epoch: "e2", fromOffset: 1, toOffset: 1 },
      },
    ]);
    t.registry.connectionLost();
    t.registry.resubscribeAll();
    expect(t.lastSubscribe().since).toEqual({ offset: 3, epoch: "e2" });
  });

  it("discards a replay that arrived on a connection which then dropped", () => {
    const t = setup();
    const seen: number[] = [];
    t.registry.add("t", (d) => seen.push(d as number), {});
    t.registry.handleSubscribed(t.subscribed({ offset: 5 }));
    t.registry.connectionLost();
    t.registry.resubscribeAll();
    t.registry.handleMessage(t.message(6));
    t.registry.connectionLost();
    t.registry.resubscribeAll();
    expect(t.lastSubscribe().since).toEqual({ offset: 5, epoch: "e1" });
    t.registry.handleMessage(t.message(6));
    t.registry.handleSubscribed(t.subscribed({ offset: 6, replayed: 1 }));
    expect(seen).toEqual([6]);
  });

  it("reports skipped live offsets", () => {
    const t = setup();
    t.registry.add("t", () => {}, {});
    t.registry.handleSubscribed(t.subscribed({ offset: 1 }));
    t.registry.handleMessage(t.message(4));
    expect(t.gaps[0]).toMatchObject({
      reason: "offsets_skipped",
      lost: { fromOffset: 2, toOffset: 3 },
    });
  });

  it("drops a refused subscription and tells its handlers", () => {
    const t = setup();
    const refused: string[] = [];
    t.registry.add("t", () => {}, { onError: (e) => refused.push(String(e.code)) });
    expect(
      t.registry.handleFailure(t.lastSubscribe().id, { code: "forbidden", message: "no" }),
    ).toBe(true);
    expect(refused).toEqual(["forbidden"]);
    expect(t.errors[0]?.message).toMatch(/subscribe to "t" refused: no/);
    expect(t.registry.topics).toEqual([]);
    expect(t.registry.handleFailure("other", { code: "x", message: "y" })).toBe(false);
  });

  it("keeps a subscription refused for a passing reason and asks again after a backoff delay", () => {
    const t = setup();
    const handlerErrors: string[] = [];
    t.registry.add("t", () => {}, { onError: (e) => handlerErrors.push(String(e.code)) });
    const first = t.lastSubscribe().id;
    expect(t.registry.handleFailure(first, { code: "overloaded", message: "redis down" })).toBe(
      true,
    );
    expect(t.registry.topics).toEqual(["t"]);
    expect(t.errors[0]?.message).toMatch(/refused for now \(redis down\); retrying in \d+ ms/);
    expect(handlerErrors).toEqual([]);
    const [delay] = t.clock.pending();
    expect(delay).toBeGreaterThanOrEqual(250);
    expect(delay).toBeLessThanOrEqual(500);
    t.clock.advance(delay ?? 0);
    const second = t.lastSubscribe().id;
    expect(second).not.toBe(first);
    // Refused again: the next delay is longer (the schedule grows until a success).
    t.registry.handleFailure(second, { code: "overloaded", message: "still down" });
    expect(t.clock.pending()[0]).toBeGreaterThanOrEqual(500);
    t.clock.advance(1000);
    t.registry.handleSubscribed(t.subscribed({}));
    t.registry.handleMessage(t.message(1));
    expect(t.clock.pending()).toEqual([]);
  });

  it("cancels a waiting retry when the last handler unsubscribes", () => {
    const t = setup();
    const off = t.registry.add("t", () => {}, {});
    t.registry.handleFailure(t.lastSubscribe().id, { code: "overloaded", message: "down" });
    off();
    expect(t.clock.pending()).toEqual([]);
    expect(t.registry.topics).toEqual([]);
  });

  it("keeps delivering to other handlers when one throws", () => {
    const t = setup();
    const seen: number[] = [];
    t.registry.add(
      "t",
      () => {
        throw new Error("bad handler");
      },
      {},
    );
    t.registry.add("t", (d) => seen.push(d as number), {});
    t.registry.handleSubscribed(t.subscribed({ offset: 0 }));
    t.registry.handleMessage(t.message(1));
    expect(seen).toEqual([1]);
    expect(t.errors[0]?.code).toBe("handler_failed");
  });

  it("sends nothing while closed and subscribes everything on open", () => {
    const t = setup();
    t.setOpen(false);
    t.registry.add("a", () => {}, {});
    t.registry.add("b", () => {}, {});
    expect(t.frames).toEqual([]);
    t.setOpen(true);
    t.registry.resubscribeAll();
    expect(t.frames.map((f) => f.topic)).toEqual(["a", "b"]);
    expect(t.frames.every((f) => f.since === undefined)).toBe(true);
  });
});

describe("resubscribing a topic while its unsubscribe is in flight", () => {
  it("does not deliver the old subscription's messages to the new one", () => {
    const t = setup();
    const first: number[] = [];
    const second: number[] = [];
    const off = t.registry.add("t", (d) => first.push(d as number), {});
    t.registry.handleSubscribed(t.subscribed({ offset: 0 }));
    t.registry.handleMessage(t.message(1));
    off();
    t.registry.add("t", (d) => second.push(d as number), {});
    // Still flowing from the first subscription until the server processes the unsubscribe.
    t.registry.handleMessage(t.message(2));
    t.registry.handleSubscribed(t.subscribed({ offset: 2 }));
    t.registry.handleMessage(t.message(3));
    expect(first).toEqual([1]);
    expect(second).toEqual([3]);
  });
});

describe("start positions", () => {
  it("sends rewind on the first subscribe and delivers the replay that comes before subscribed", () => {
    const t = setup();
    const seen: number[] = [];
    t.registry.add("t", (data) => seen.push(data as number), { rewind: 2 });
    expect(t.lastSubscribe()).toMatchObject({ topic: "t", rewind: 2 });
    expect(t.lastSubscribe().since).toBeUndefined();
    t.registry.handleMessage(t.message(9));
    t.registry.handleMessage(t.message(10));
    expect(seen).toEqual([]);
    t.registry.handleSubscribed(t.subscribed({ offset: 10, replayed: 2 }));
    expect(seen).toEqual([9, 10]);
    expect(t.gaps).toEqual([]);
  });

  it("resumes with since, not rewind, once a position is known", () => {
    const t = setup();
    t.registry.add("t", () => {}, { rewind: 5 });
    t.registry.handleSubscribed(t.subscribed({ offset: 7 }));
    t.registry.connectionLost();
    t.registry.resubscribeAll();
    const again = t.lastSubscribe() as Record<string, unknown>;
    expect(again.since).toEqual({ offset: 7, epoch: "e1" });
    expect(again.rewind).toBeUndefined();
  });

  it("asks for rewind again when the connection dropped before any answer", () => {
    const t = setup();
    t.registry.add("t", () => {}, { rewind: 1 });
    t.registry.connectionLost();
    t.registry.resubscribeAll();
    expect(t.lastSubscribe()).toMatchObject({ rewind: 1 });
  });

  it("starts after a given since, sends it alone, and drops replayed offsets up to it", () => {
    const t = setup();
    const seen: number[] = [];
    t.registry.add("t", (data) => seen.push(data as number), {
      since: { offset: 4, epoch: "e1" },
      rewind: 3,
    });
    const frame = t.lastSubscribe() as Record<string, unknown>;
    expect(frame.since).toEqual({ offset: 4, epoch: "e1" });
    expect(frame.rewind).toBeUndefined();
    for (const offset of [4, 5, 6]) t.registry.handleMessage(t.message(offset));
    t.registry.handleSubscribed(t.subscribed({ offset: 6, replayed: 2 }));
    expect(seen).toEqual([5, 6]);
    expect(t.duplicates()).toBe(1);
  });

  it("reports a gap when a given since is no longer retained", () => {
    const t = setup();
    t.registry.add("t", () => {}, { since: { offset: 2, epoch: "e1" } });
    t.registry.handleMessage(t.message(6));
    t.registry.handleSubscribed(t.subscribed({ offset: 6, recovered: false, replayed: 1 }));
    expect(t.gaps).toMatchObject([
      { reason: "history_expired", lost: { epoch: "e1", fromOffset: 3, toOffset: 5 } },
    ]);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    "throws a RangeError for rewind %s and subscribes nothing",
    (rewind) => {
      const t = setup();
      expect(() => t.registry.add("t", () => {}, { rewind })).toThrow(RangeError);
      expect(t.frames).toEqual([]);
      expect(t.registry.topics).toEqual([]);
    },
  );

  it("throws a RangeError for a since that is not a position", () => {
    const t = setup();
    const since = { offset: -1, epoch: "e1" };
    expect(() => t.registry.add("t", () => {}, { since })).toThrow(/"since"/);
  });

  it("throws a RangeError for a from that is neither stored nor head", () => {
    const t = setup();
    expect(() => t.registry.add("t", () => {}, { from: "tail" as "head" })).toThrow(/"from"/);
  });
});

describe("subscriptions from a stored position", () => {
  /** A keeper whose `load` answers when the test says, recording every move. */
  function keeper(answer: () => ResumePoint | undefined | Promise<ResumePoint | undefined>) {
    const moves: Array<[string, ResumePoint]> = [];
    let loads = 0;
    const k: PositionKeeper = {
      load: () => {
        loads += 1;
        return answer();
      },
      moved: (topic, position) => void moves.push([topic, position]),
      flush: () => {},
    };
    return {
      k,
      moves,
      get loads() {
        return loads;
      },
    };
  }

  it("holds the subscribe until an async store answers, then sends its position as since", async () => {
    const answer = deferred<ResumePoint | undefined>();
    const store = keeper(() => answer.promise);
    const t = setup([], store.k);
    t.registry.add("t", () => {}, { from: "stored", rewind: 5 });
    t.registry.resubscribeAll();
    expect(t.frames).toEqual([]);
    answer.resolve({ offset: 4, epoch: "e1" });
    await answer.promise;
    await Promise.resolve();
    expect(t.frames).toEqual([
      { type: "subscribe", id: expect.any(String), topic: "t", since: { offset: 4, epoch: "e1" } },
    ]);
    t.registry.handleMessage(t.message(5));
    t.registry.handleSubscribed(t.subscribed({ offset: 5, replayed: 1 }));
    expect(store.moves.at(-1)).toEqual(["t", { offset: 5, epoch: "e1" }]);
  });

  it("sends rewind when the store holds nothing, and nothing at all when unsubscribed while reading", async () => {
    const empty = keeper(() => undefined);
    const t = setup([], empty.k);
    t.registry.add("t", () => {}, { from: "stored", rewind: 5 });
    expect(t.lastSubscribe()).toMatchObject({ topic: "t", rewind: 5 });

    const slow = deferred<ResumePoint | undefined>();
    const u = setup([], keeper(() => slow.promise).k);
    const unsubscribe = u.registry.add("t", () => {}, { from: "stored" });
    unsubscribe();
    slow.resolve({ offset: 1, epoch: "e1" });
    await slow.promise;
    await Promise.resolve();
    expect(u.frames).toEqual([]);
  });

  it("lets since win without reading the store, and saves nothing for from: head", () => {
    const store = keeper(() => ({ offset: 1, epoch: "e1" }));
    const t = setup([], store.k);
    t.registry.add("t", () => {}, { from: "stored", since: { offset: 9, epoch: "e1" } });
    expect(t.lastSubscribe().since).toEqual({ offset: 9, epoch: "e1" });
    expect(store.loads).toBe(0);
    const u = setup([], store.k);
    u.registry.add("t", () => {}, {});
    u.registry.handleSubscribed(u.subscribed({ offset: 3 }));
    u.registry.handleMessage(u.message(4));
    expect(store.moves).toEqual([]);
  });
});
