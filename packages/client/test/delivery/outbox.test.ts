import { describe, expect, it } from "vitest";
import { createOutbox, type OutboxEntry } from "../../src/delivery/outbox.js";

const entry = (id: string, kind: OutboxEntry["kind"] = "publish"): OutboxEntry => ({
  id,
  kind,
  message: { type: "publish", id, topic: "t", data: null },
});

describe("createOutbox", () => {
  it("flushes in insertion order", () => {
    const outbox = createOutbox(10);
    for (const id of ["a", "b", "c"]) outbox.push(entry(id));
    const sent: string[] = [];
    expect(
      outbox.flush((e) => {
        sent.push(e.id);
        return true;
      }),
    ).toBe(3);
    expect(sent).toEqual(["a", "b", "c"]);
    expect(outbox.size).toBe(0);
  });

  it("refuses a new entry when full and keeps the old ones", () => {
    const outbox = createOutbox(2);
    expect(outbox.push(entry("a"))).toBe(true);
    expect(outbox.push(entry("b"))).toBe(true);
    expect(outbox.push(entry("c"))).toBe(false);
    expect(outbox.clear().map((e) => e.id)).toEqual(["a", "b"]);
  });

  it("stops flushing at the first entry the socket refuses, keeping it and the rest", () => {
    const outbox = createOutbox(10);
    for (const id of ["a", "b", "c"]) outbox.push(entry(id));
    expect(outbox.flush((e) => e.id === "a")).toBe(1);
    expect(outbox.clear().map((e) => e.id)).toEqual(["b", "c"]);
  });

  it("puts requeued entries first, beyond the bound", () => {
    const outbox = createOutbox(1);
    outbox.push(entry("new"));
    outbox.requeue([entry("old1"), entry("old2")]);
    expect(outbox.size).toBe(3);
    expect(outbox.clear().map((e) => e.id)).toEqual(["old1", "old2", "new"]);
  });

  it("removes a withdrawn entry", () => {
    const outbox = createOutbox(10);
    outbox.push(entry("a", "request"));
    outbox.push(entry("b", "request"));
    expect(outbox.remove("a")).toBe(true);
    expect(outbox.remove("a")).toBe(false);
    expect(outbox.clear().map((e) => e.id)).toEqual(["b"]);
  });

  it("rejects a negative bound", () => {
    expect(() => createOutbox(-1)).toThrow(RangeError);
  });
});
