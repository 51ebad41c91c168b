import { describe, expect, it } from "vitest";
import { assertClientId, stableClientId } from "../../src/session/client-id.js";
import type { StorageLike } from "../../src/session/storage.js";

function memoryStorage(): StorageLike & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (key) => data.get(key) ?? null,
    setItem: (key, value) => void data.set(key, value),
  };
}

describe("stableClientId", () => {
  it("is stable across calls with the same storage", () => {
    const persistent = memoryStorage();
    const perTab = memoryStorage();
    const first = stableClientId({ persistent, perTab });
    expect(stableClientId({ persistent, perTab })).toBe(first);
    expect(assertClientId(first)).toBe(first);
  });

  it("shares the device part between tabs but not the tab part", () => {
    const persistent = memoryStorage();
    const tabA = stableClientId({ persistent, perTab: memoryStorage() });
    const tabB = stableClientId({ persistent, perTab: memoryStorage() });
    expect(tabA).not.toBe(tabB);
    expect(tabA.split(".")[0]).toBe(tabB.split(".")[0]);
  });

  it("is random without storage and survives throwing storage", () => {
    const throwing: StorageLike = {
      getItem: () => {
        throw new Error("SecurityError");
      },
      setItem: () => {
        throw new Error("SecurityError");
      },
    };
    const a = stableClientId({ persistent: throwing, perTab: undefined });
    const b = stableClientId({ persistent: throwing, perTab: undefined });
    expect(a).not.toBe(b);
    expect(assertClientId(a)).toBe(a);
  });

  it("replaces a tampered stored value", () => {
    const persistent = memoryStorage();
    persistent.data.set("lifeline.device_id", "bad value with spaces");
    const id = stableClientId({ persistent, perTab: memoryStorage() });
    expect(id).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });
});

describe("assertClientId", () => {
  it("explains what it expected", () => {
    expect(() => assertClientId("has space")).toThrow(/expects "clientId" to match/);
  });
});
