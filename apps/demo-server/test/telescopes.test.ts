import { createFakeClock } from "@lifeline/test-support";
import { describe, expect, it } from "vitest";
import { contract, type TelescopeState, type TelescopesEvent } from "../src/contract.js";
import { createObservatory, TelescopeError } from "../src/telescopes.js";

const STATUS_1 = "telescope/seestar-001/status";
const STATUS_2 = "telescope/seestar-002/status";

function setup(options: { batteryDrainPerMinute?: number } = {}) {
  const clock = createFakeClock();
  // Checked against the contract at run time: the types of a generic topic stay generic.
  const published: { topic: string; data: unknown }[] = [];
  const observatory = createObservatory({
    clock,
    random: () => 0.5,
    publish: (topic, data) => {
      const check = contract.checkTopicData(topic, data);
      if (!check.ok) throw new Error(`${topic}: ${check.issue.message}`);
      published.push({ topic, data });
    },
    // The server's publishDelta checks the merged state; here the changes are the message.
    publishStatus: (topic, key, changes) => {
      const check = contract.checkTopicData(topic, { key, changes });
      if (!check.ok) throw new Error(`${topic}: ${check.issue.message}`);
      published.push({ topic, data: changes });
    },
    ...options,
  });
  const on = (topic: string) =>
    published
      .filter((p) => p.topic === topic)
      .map((p) => p.data as { [K in keyof TelescopeState]?: TelescopeState[K] | null });
  return { clock, published, observatory, on };
}

describe("observatory", () => {
  it("publishes nothing and runs no timer while no topic has demand", () => {
    const { clock, published } = setup();
    clock.advance(60_000);
    expect(published).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it("sends every field when demand starts, then changes only at 5 Hz", () => {
    const { clock, observatory, on } = setup();
    observatory.setDemand(STATUS_1, true);
    expect(on(STATUS_1)).toEqual([]);
    clock.advance(200);
    const [first] = on(STATUS_1);
    expect(first).toMatchObject({ gain: 80, tracking: true });
    // Every field but `moving`, which is absent while the telescope stands still.
    expect(Object.keys(first ?? {}).sort()).toEqual([
      "battery",
      "dec_deg",
      "gain",
      "ra_deg",
      "temperature_c",
      "tracking",
    ]);

    clock.advance(1000);
    const updates = on(STATUS_1).slice(1);
    // Sidereal tracking moves ra_deg by ~0.004 degrees per second: changes happen, but
    // never more than one per 200 ms tick, and never a repeated unchanged field.
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.length).toBeLessThanOrEqual(5);
    for (const update of updates) expect(update.gain).toBeUndefined();
    expect(on(STATUS_2)).toEqual([]);
  });

  it("sends the telescope list when `telescopes` gains demand", () => {
    const { clock, observatory, on } = setup();
    observatory.setDemand("telescopes", true);
    clock.advance(200);
    expect(on("telescopes")).toEqual([
      {
        event: "listed",
        telescopes: [
          { id: "seestar-001", name: "Seestar S50 (north dome)", online: true },
          { id: "seestar-002", name: "Seestar S50 (south dome)", online: true },
        ],
      },
    ]);
    clock.advance(2000);
    expect(on("telescopes")).toHaveLength(1);
  });

  it("stops its timer when the last topic loses demand", () => {
    const { clock, observatory, published } = setup();
    observatory.setDemand(STATUS_1, true);
    observatory.setDemand(STATUS_1, false);
    const count = published.length;
    clock.advance(10_000);
    expect(published.length).toBe(count);
    expect(clock.pending).toBe(0);
  });

  it("produces nothing without permission (a cluster node without the lease)", () => {
    const { clock, observatory, published } = setup();
    observatory.setProducing(false);
    observatory.setDemand(STATUS_1, true);
    clock.advance(5_000);
    expect(published).toEqual([]);
    observatory.setProducing(true);
    clock.advance(200);
    expect(Object.keys(published[0]?.data ?? {})).toHaveLength(6);
  });

  it("resolves a move when it completes and reports the motion in the status", async () => {
    const { clock, observatory, on } = setup();
    observatory.setDemand(STATUS_1, true);
    const before = observatory.list().telescopes[0]?.state.dec_deg ?? Number.NaN;
    let settled = false;
    const move = observatory
      .move({ telescope_id: "seestar-001", direction: "up", duration_ms: 1000 })
      .finally(() => {
        settled = true;
      });
    await Promise.resolve();
    clock.advance(400);
    expect(on(STATUS_1).some((s) => s.moving === "up")).toBe(true);
    await Promise.resolve();
    expect(settled).toBe(false);
    clock.advance(600);
    const result = await move;
    expect(result.dec_deg).toBeCloseTo(before + 2, 2);
    clock.advance(200);
    // The move ended: `moving` is removed (null in a merge patch).
    const movingUpdates = on(STATUS_1).filter((s) => s.moving !== undefined);
    expect(movingUpdates.at(-1)?.moving).toBeNull();
  });

  it("runs moves of one telescope one after the other", async () => {
    const { clock, observatory } = setup();
    const done: string[] = [];
    const a = observatory
      .move({ telescope_id: "seestar-001", direction: "left", duration_ms: 500 })
      .then(() => done.push("a"));
    const b = observatory
      .move({ telescope_id: "seestar-001", direction: "right", duration_ms: 500 })
      .then(() => done.push("b"));
    for (let i = 0; i < 10 && done.length < 2; i += 1) {
      await Promise.resolve();
      await Promise.resolve();
      clock.advance(250);
    }
    await Promise.all([a, b]);
    expect(done).toEqual(["a", "b"]);
    expect(clock.now() - 1_700_000_000_000).toBeGreaterThanOrEqual(1000);
  });

  it("refuses unknown telescopes and out-of-range gain with stable codes", () => {
    const { observatory } = setup();
    expect(() => observatory.setGain({ telescope_id: "hubble", gain: 10 })).toThrow(
      expect.objectContaining({ code: "not_found" }),
    );
    expect(() => observatory.setGain({ telescope_id: "seestar-001", gain: 301 })).toThrow(
      TelescopeError,
    );
    expect(observatory.setGain({ telescope_id: "seestar-001", gain: 120 })).toEqual({
      telescope_id: "seestar-001",
      gain: 120,
    });
    expect(observatory.list().telescopes[0]?.state.gain).toBe(120);
  });

  it("announces a telescope lost at 0 % battery and discovered again when charged", () => {
    const { clock, observatory, published } = setup({ batteryDrainPerMinute: 60 });
    observatory.setDemand("telescopes", true);
    observatory.setDemand(STATUS_2, true);
    clock.advance(90_000);
    const events = published
      .filter((p) => p.topic === "telescopes")
      .map((p) => p.data as TelescopesEvent);
    expect(events[0]).toMatchObject({ event: "listed" });
    expect(events[1]).toMatchObject({ event: "lost", telescope_id: "seestar-002" });
    expect(events[1]?.telescopes.find((t) => t.id === "seestar-002")?.online).toBe(false);
    clock.advance(20_000);
    const later = published
      .filter((p) => p.topic === "telescopes")
      .map((p) => p.data as TelescopesEvent);
    expect(later.some((e) => e.event === "discovered" && e.telescope_id === "seestar-002")).toBe(
      true,
    );
  });

  it("rejects moves on an offline telescope", async () => {
    const { clock, observatory } = setup({ batteryDrainPerMinute: 600 });
    clock.advance(60_000);
    observatory.list();
    await expect(
      observatory.move({ telescope_id: "seestar-001", direction: "up", duration_ms: 100 }),
    ).rejects.toMatchObject({ code: "telescope_offline" });
  });
});
