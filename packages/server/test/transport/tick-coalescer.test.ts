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
