import { describe, expect, it } from "vitest";
import { createConnectionStore } from "../../src/state/store.js";

describe("createConnectionStore", () => {
  it("returns the same snapshot until it changes, and notifies subscribers", () => {
    const store = createConnectionStore({ state: "idle", status: "idle", attempt: 0, since: 1 });
    const first = store.getSnapshot();
    expect(store.getSnapshot()).toBe(first);
    let calls = 0;
    const stop = store.subscribe(() => calls++);
    store.set(first);
    expect(calls).toBe(0);
    store.set({ state: "connecting", status: "connecting", attempt: 0, since: 2 });
    expect(calls).toBe(1);
    expect(store.getSnapshot().state).toBe("connecting");
    stop();
    store.set({ state: "open", status: "open", attempt: 0, since: 3 });
    expect(calls).toBe(1);
  });
});
