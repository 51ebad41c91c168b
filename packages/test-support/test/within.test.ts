import { describe, expect, it } from "vitest";
import { countdown, within } from "../src/within.js";

describe("within", () => {
  it("resolves with the promise's value when it settles in time", async () => {
    await expect(within(Promise.resolve(7), "seven", 1000)).resolves.toBe(7);
  });

  it("rejects naming what it waited for when the time is up", async () => {
    await expect(within(new Promise(() => {}), "the hello", 10)).rejects.toThrow(
      "timed out after 10 ms waiting for the hello",
    );
  });
});

describe("countdown", () => {
  it("is reached on the target-th hit", async () => {
    const c = countdown(2);
    c.hit();
    c.hit();
    await within(c.reached, "two hits", 1000);
    expect(c.count).toBe(2);
  });
});
