import { describe, expect, it } from "vitest";
import type { StorageLike } from "../../src/session/storage.js";
import { claimTab, type PageEventTarget } from "../../src/session/tab-claim.js";

// Each "page" is a token (a page load's own random value) and the events of its window.
// A duplicated tab is a copy of the original's sessionStorage taken while the original
// lives; a reload is the same storage after the old page's `pagehide`.

function memoryStorage(data = new Map<string, string>()): StorageLike & {
  copy(): StorageLike;
} {
  return {
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
    copy: () => memoryStorage(new Map(data)),
  };
}

function page() {
  const listeners = new Map<string, Array<(event: { persisted?: boolean }) => void>>();
  const target: PageEventTarget = {
    addEventListener(type, listener) {
      listeners.set(type, [...(listeners.get(type) ?? []), listener]);
    },
  };
  const fire = (type: string, persisted = false) => {
    for (const listener of listeners.get(type) ?? []) listener({ persisted });
  };
  return { target, fire };
}

describe("claimTab", () => {
  it("finds no other page on the first load, nor after a reload", () => {
    const storage = memoryStorage();
    const first = page();
    expect(claimTab(storage, first.target, "page-1")).toBe(false);
    first.fire("pagehide");
    expect(claimTab(storage, page().target, "page-2")).toBe(false);
  });

  it("tells a duplicated tab that its original still holds the tab id", () => {
    const original = memoryStorage();
    expect(claimTab(original, page().target, "page-1")).toBe(false);
    const duplicate = original.copy();
    expect(claimTab(duplicate, page().target, "page-2")).toBe(true);
    // The original is unaffected: its own storage still names it.
    expect(claimTab(original, undefined, "page-1")).toBe(false);
  });

  it("lets a second client of the same page share the claim", () => {
    const storage = memoryStorage();
    const one = page();
    expect(claimTab(storage, one.target, "page-1")).toBe(false);
    expect(claimTab(storage, one.target, "page-1")).toBe(false);
  });

  it("claims again when the page comes back from the back/forward cache", () => {
    const storage = memoryStorage();
    const first = page();
    claimTab(storage, first.target, "page-1");
    first.fire("pagehide");
    first.fire("pageshow", true);
    expect(claimTab(storage.copy(), page().target, "page-2")).toBe(true);
  });

  it("gives up quietly on storage that throws", () => {
    const throwing: StorageLike = {
      getItem: () => {
        throw new Error("SecurityError");
      },
      setItem: () => {
        throw new Error("SecurityError");
      },
    };
    expect(claimTab(throwing, page().target, "page-1")).toBe(false);
  });
});
