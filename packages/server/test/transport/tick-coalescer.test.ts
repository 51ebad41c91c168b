import { describe, expect, it } from "vitest";
import { type CoalesceTarget, createTickCoalescer } from "../../src/transport/tick-coalescer.js";

type Target = CoalesceTarget & { readonly name: string };
const target = (name: string): Target => ({
  name,
  pendingFrames: undefined,
  pendingBytes: 0,
  writtenTick: 0,
});
const chunk = (text: string) => Buffer.from(text);

describe("createTickCoalescer", () => {
  it("writes a target's first chunk of a tick at once and the rest together at its end", async () => {
    const writes: string[] = [];
    const coalescer = createTickCoalescer<Target>((t, chunks, total) => {
      expect(total).toBe(chunks.reduce((sum, c) => sum + c.length, 0));
      writes.push(`${t.name}:${chunks.map(String).join("|")}`);
    });
    const a = target("a");
    const b = target("b");
    coalescer.write(a, chunk("1"));
    coalescer.write(b, chunk("x"));
    coalescer.write(a, chunk("2"));
    coalescer.write(a, chunk("3"));
    expect(writes).toEqual(["a:1", "b:x"]);
    expect(a.pendingBytes).toBe(2);
    await Promise.resolve();
    expect(writes).toEqual(["a:1", "b:x", "a:2|3"]);
    expect(a.pendingFrames).toBeUndefined();
    coalescer.write(a, chunk("4"));
    expect(writes.at(-1)).toBe("a:4");
  });

  it("flushes what is queued on demand, before the tick ends", () => {
    const writes: string[] = [];
    const coalescer = createTickCoalescer<Target>((_t, chunks) => {
      writes.push(chunks.map(String).join("|"));
    });
    const a = target("a");
    coalescer.write(a, chunk("1"));
    coalescer.write(a, chunk("2"));
    coalescer.flush(a);
    coalescer.flush(a);
    expect(writes).toEqual(["1", "2"]);
  });
});
