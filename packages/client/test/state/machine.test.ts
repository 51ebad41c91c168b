import { describe, expect, it } from "vitest";
import { type ConnectionStatus, isOpen, transition } from "../../src/state/machine.js";

const all: ConnectionStatus[] = [
  "idle",
  "connecting",
  "open",
  "degraded",
  "reconnecting",
  "failed",
  "closed",
];

describe("transition", () => {
  it.each([
    ["idle", { type: "connect" }, "connecting"],
    ["connecting", { type: "hello" }, "open"],
    ["connecting", { type: "drop", retry: true }, "reconnecting"],
    ["connecting", { type: "drop", retry: false }, "failed"],
    ["open", { type: "heartbeat_late" }, "degraded"],
    ["degraded", { type: "heartbeat_ok" }, "open"],
    ["open", { type: "drop", retry: true }, "reconnecting"],
    ["degraded", { type: "drop", retry: true }, "reconnecting"],
    ["open", { type: "drop", retry: false }, "failed"],
    ["reconnecting", { type: "retry" }, "connecting"],
    ["reconnecting", { type: "connect" }, "connecting"],
    ["failed", { type: "connect" }, "connecting"],
    ["failed", { type: "retry" }, "connecting"],
    ["closed", { type: "connect" }, "connecting"],
  ] as const)("%s --%j--> %s", (from, event, to) => {
    expect(transition(from, event)).toBe(to);
  });

  it("lets the application close from every state but closed", () => {
    for (const state of all) {
      expect(transition(state, { type: "close" })).toBe(state === "closed" ? undefined : "closed");
    }
  });

  it("ignores events that do not apply (stale timers, late callbacks)", () => {
    expect(transition("closed", { type: "drop", retry: true })).toBeUndefined();
    expect(transition("closed", { type: "drop", retry: false })).toBeUndefined();
    expect(transition("idle", { type: "hello" })).toBeUndefined();
    expect(transition("open", { type: "hello" })).toBeUndefined();
    expect(transition("open", { type: "connect" })).toBeUndefined();
    expect(transition("reconnecting", { type: "drop", retry: true })).toBeUndefined();
    expect(transition("connecting", { type: "heartbeat_late" })).toBeUndefined();
    expect(transition("failed", { type: "drop", retry: false })).toBeUndefined();
  });

  it("counts only open and degraded as carrying messages", () => {
    expect(all.filter(isOpen)).toEqual(["open", "degraded"]);
  });
});
