import { describe, expect, it } from "vitest";
import type { Connection } from "../src/connection.js";
import { Registry } from "../src/registry.js";

const connection = (id: string, clientId: string, remoteAddress = "10.0.0.1") =>
  ({ id, clientId, remoteAddress }) as Connection;

describe("Registry", () => {
  it("counts reservations against the load and per-address counts until released", () => {
    const registry = new Registry();
    const release = registry.reserve("10.0.0.1");
    expect(registry.load).toBe(1);
    expect(registry.pending).toBe(1);
    expect(registry.countFor("10.0.0.1")).toBe(1);
    release();
    release();
    expect(registry.load).toBe(0);
    expect(registry.countFor("10.0.0.1")).toBe(0);
  });

  it("finds connections by id and client_id, and keeps the newer of a replaced pair", () => {
    const registry = new Registry();
    const older = connection("1", "tab");
    const newer = connection("2", "tab");
    registry.add(older);
    registry.add(newer);
    expect(registry.byClient("tab")).toBe(newer);
    registry.remove(older);
    expect(registry.byClient("tab")).toBe(newer);
    expect(registry.get("1")).toBeUndefined();
    expect(registry.size).toBe(1);
    expect(registry.countFor("10.0.0.1")).toBe(1);
    registry.remove(newer);
    registry.remove(newer);
    expect(registry.byClient("tab")).toBeUndefined();
    expect(registry.countFor("10.0.0.1")).toBe(0);
  });
});
