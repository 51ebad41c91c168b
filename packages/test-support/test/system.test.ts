import { afterEach, describe, expect, it, vi } from "vitest";
import { chromiumAvailability } from "../src/chromium.js";
import { skipWithout } from "../src/system.js";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("skipWithout", () => {
  it("runs the tests when the dependency is there", () => {
    vi.stubEnv("CI", "true");
    expect(skipWithout("chromium", { ok: true })).toBe(false);
  });

  it("skips with a warning naming the reason off CI", () => {
    vi.stubEnv("CI", "");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(skipWithout("redis-server", { ok: false, reason: "not on PATH" })).toBe(true);
    expect(warn).toHaveBeenCalledWith("[skipped] redis-server unavailable: not on PATH");
  });

  it("throws the reason under CI=true, so the file fails instead of skipping", () => {
    vi.stubEnv("CI", "true");
    expect(() => skipWithout("network namespaces", { ok: false, reason: "needs root" })).toThrow(
      "network namespaces unavailable: needs root (CI=true: tests may not skip for a missing dependency)",
    );
  });
});

describe("chromiumAvailability", () => {
  it("names the binary LIFELINE_CHROMIUM points at when it is missing", () => {
    vi.stubEnv("LIFELINE_CHROMIUM", "/nonexistent/chromium");
    const availability = chromiumAvailability();
    expect(availability.ok).toBe(false);
    expect(!availability.ok && availability.reason).toMatch(/^\/nonexistent\/chromium not found/);
  });
});
