import { describe, expect, it } from "vitest";
import { createHold } from "../src/hold.js";

describe("createHold", () => {
  const counting = () => {
    const calls: string[] = [];
    const hold = createHold(
      () => calls.push("start"),
      () => calls.push("stop"),
    );
    return { calls, hold };
  };

  it("starts on the first hold and stops a microtask after the last release", async () => {
    const { calls, hold } = counting();
    const a = hold.take();
    const b = hold.take();
    expect(calls).toEqual(["start"]);
    a();
    b();
    expect(hold.active).toBe(true);
    await Promise.resolve();
    expect(calls).toEqual(["start", "stop"]);
    expect(hold.active).toBe(false);
  });

  it("keeps running when a hold is taken again before the microtask (strict mode's remount)", async () => {
    const { calls, hold } = counting();
    hold.take()();
    const again = hold.take();
    await Promise.resolve();
    expect(calls).toEqual(["start"]);
    again();
    await Promise.resolve();
    expect(calls).toEqual(["start", "stop"]);
    hold.take();
    expect(calls).toEqual(["start", "stop", "start"]);
  });

  it("ignores a second call of one release", async () => {
    const { calls, hold } = counting();
    const a = hold.take();
    hold.take();
    a();
    a();
    await Promise.resolve();
    expect(calls).toEqual(["start"]);
  });
});
