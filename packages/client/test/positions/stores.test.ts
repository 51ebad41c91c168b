import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { filePositions } from "../../src/positions/file-store.js";
import { PositionMap } from "../../src/positions/position-map.js";
import { webStoragePositions } from "../../src/positions/web-storage-store.js";
import type { StorageLike } from "../../src/session/storage.js";

const e = "e-1";

function memoryStorage(): StorageLike & { data: Map<string, string>; reads: number } {
  const data = new Map<string, string>();
  const storage = {
    data,
    reads: 0,
    getItem: (key: string) => {
      storage.reads += 1;
      return data.get(key) ?? null;
    },
    setItem: (key: string, value: string) => void data.set(key, value),
  };
  return storage;
}

describe("PositionMap", () => {
  it("keeps the most recently saved topics up to its bound", () => {
    const map = new PositionMap(2);
    map.set("a", { offset: 1, epoch: e });
    map.set("b", { offset: 1, epoch: e });
    map.set("a", { offset: 2, epoch: e });
    map.set("c", { offset: 1, epoch: e });
    expect(map.get("b")).toBeUndefined();
    expect(map.get("a")).toEqual({ offset: 2, epoch: e });
    expect(map.get("c")).toEqual({ offset: 1, epoch: e });
  });

  it("reads back what it wrote and takes garbage for empty", () => {
    const map = new PositionMap(10);
    map.set("a/b", { offset: 7, epoch: e });
    const copy = new PositionMap(10);
    copy.load(map.serialize());
    expect(copy.get("a/b")).toEqual({ offset: 7, epoch: e });
    for (const garbage of ["{", "null", "[]", '{"topics":3}', '{"topics":{"x":{"offset":-1}}}']) {
      copy.load(garbage);
      expect(copy.get("a/b")).toBeUndefined();
      expect(copy.get("x")).toBeUndefined();
    }
  });

  it("refuses a bound that is not a positive integer", () => {
    expect(() => new PositionMap(0)).toThrow(/maxTopics/);
  });
});

describe("webStoragePositions", () => {
  it("reads its key once and writes it whole on flush", () => {
    const storage = memoryStorage();
    storage.setItem("k", JSON.stringify({ v: 1, topics: { a: { offset: 3, epoch: e } } }));
    const store = webStoragePositions({ storage, key: "k" });
    expect(store.get("a")).toEqual({ offset: 3, epoch: e });
    expect(store.get("b")).toBeUndefined();
    store.set("b", { offset: 9, epoch: e });
    expect(storage.reads).toBe(1);
    expect(JSON.parse(storage.data.get("k") ?? "{}").topics.b).toBeUndefined();
    store.flush?.();
    expect(JSON.parse(storage.data.get("k") ?? "{}").topics).toEqual({
      a: { offset: 3, epoch: e },
      b: { offset: 9, epoch: e },
    });
  });
});

describe("filePositions", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("starts empty without a file, creates its folder, and replaces the file whole", async () => {
    dir = await mkdtemp(join(tmpdir(), "lifeline-file-positions-"));
    const path = join(dir, "nested", "p.json");
    const store = filePositions(path);
    expect(store.get("a")).toBeUndefined();
    store.set("a", { offset: 1, epoch: e });
    store.flush?.();
    store.set("a", { offset: 2, epoch: e });
    store.flush?.();
    expect(await readdir(join(dir, "nested"))).toEqual(["p.json"]);
    expect(filePositions(path).get("a")).toEqual({ offset: 2, epoch: e });
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({
      v: 1,
      topics: { a: { offset: 2, epoch: e } },
    });
  });

  it("takes a corrupt file for an empty one", async () => {
    dir = await mkdtemp(join(tmpdir(), "lifeline-file-positions-"));
    const path = join(dir, "p.json");
    await writeFile(path, '{"v":1,"topics":{"a":');
    expect(filePositions(path).get("a")).toBeUndefined();
  });

  it("refuses an empty path", () => {
    expect(() => filePositions("")).toThrow(/file path/);
  });
});
