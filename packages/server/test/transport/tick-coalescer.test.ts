import { describe, expect, it } from "vitest";
import {
  type CoalesceTarget,
  createTickCoalescer,
  writeJoined,
} from "../../src/transport/tick-coalescer.js";

type Target = CoalesceTarget & { readonly name: string };
const target = (name: string): Target => ({
  name,
  pendingFrames: undefined,
  pendingBytes: 0,
  writtenTick: 0,
});
const chunk = (text: string) => Buffer.from(text);

/**
 * A coalescer making `sliceWrites` writes per turn, recording each write as
 * `name:chunk|chunk` and keeping the deferred turns for the test to run.
 */
function slicedCoalescer(sliceWrites: number) {
  const writes: string[] = [];
  const turns: (() => void)[] = [];
  const coalescer = createTickCoalescer<Target>(
    {
      writeOne: (t, one) => writes.push(`${t.name}:${one}`),
      writeMany: (t, chunks) => writes.push(`${t.name}:${chunks.map(String).join("|")}`),
    },
    { sliceWrites, defer: (next) => turns.push(next) },
  );
  return { coalescer, writes, turns };
}

describe("createTickCoalescer", () => {
  it("writes a target's first chunk of a tick at once and the rest together at its end", async () => {
    const writes: string[] = [];
    const coalescer = createTickCoalescer<Target>({
      writeOne: (t, one) => writes.push(`${t.name}:${one}`),
      writeMany(t, chunks, total) {
        expect(total).toBe(chunks.reduce((sum, c) => sum + c.length, 0));
        writes.push(`${t.name}:${chunks.map(String).join("|")}`);
      },
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
    const coalescer = createTickCoalescer<Target>({
      writeOne: (_t, one) => writes.push(String(one)),
      writeMany: (_t, chunks) => writes.push(chunks.map(String).join("|")),
    });
    const a = target("a");
    coalescer.write(a, chunk("1"));
    coalescer.write(a, chunk("2"));
    coalescer.flush(a);
    coalescer.flush(a);
    expect(writes).toEqual(["1", "2"]);
  });

  it("makes at most a slice of kernel writes per turn and keeps each target's order", async () => {
    const { coalescer, writes, turns } = slicedCoalescer(2);
    const all = ["a", "b", "c", "d", "e"].map(target);
    const fanOut = (text: string) => {
      for (const t of all) coalescer.write(t, chunk(text));
    };
    fanOut("1");
    expect(writes).toEqual(["a:1", "b:1"]);
    await Promise.resolve();
    // The tick spent its slice: the rest waits for the event loop's next turn.
    expect(writes).toEqual(["a:1", "b:1"]);
    expect(turns).toHaveLength(1);

    // A later tick while the backlog waits: every write joins it, first in, first out,
    // so the first targets of each fan-out cannot starve the others.
    fanOut("2");
    expect(writes).toEqual(["a:1", "b:1"]);
    await Promise.resolve();
    expect(turns).toHaveLength(1);

    turns.shift()?.();
    expect(writes.slice(2)).toEqual(["c:1|2", "d:1|2"]);
    turns.shift()?.();
    expect(writes.slice(4)).toEqual(["e:1|2", "a:2"]);
    turns.shift()?.();
    expect(writes.slice(6)).toEqual(["b:2"]);
    expect(turns).toHaveLength(0);
    expect(all.every((t) => t.pendingFrames === undefined)).toBe(true);

    // The backlog gone, a lone chunk goes straight out again.
    coalescer.write(all[2] as Target, chunk("3"));
    expect(writes.at(-1)).toBe("c:3");
  });

  it("writes a queued target at once when flushed on demand, and only once", async () => {
    const { coalescer, writes, turns } = slicedCoalescer(1);
    const a = target("a");
    const b = target("b");
    coalescer.write(a, chunk("1"));
    coalescer.write(b, chunk("1"));
    coalescer.write(b, chunk("2"));
    coalescer.flush(b);
    expect(writes).toEqual(["a:1", "b:1|2"]);
    await Promise.resolve();
    turns.shift()?.();
    expect(writes).toEqual(["a:1", "b:1|2"]);
  });

  it("joins small chunks into one write and corks large ones", () => {
    const out = { writes: [] as number[], corked: 0 };
    const sink = {
      write: (chunk: Buffer) => out.writes.push(chunk.length) > 0,
      cork: () => {
        out.corked += 1;
      },
      uncork: () => {},
    };
    writeJoined(sink, [Buffer.alloc(10), Buffer.alloc(20)], 30);
    expect(out).toEqual({ writes: [30], corked: 0 });
    writeJoined(sink, [Buffer.alloc(40_000), Buffer.alloc(40_000)], 80_000);
    expect(out).toEqual({ writes: [30, 40_000, 40_000], corked: 1 });
  });
});
