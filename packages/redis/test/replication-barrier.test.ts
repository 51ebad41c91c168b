import { deferred } from "@lifeline/test-support";
import { describe, expect, it } from "vitest";
import { createReplicationBarrier } from "../src/replication-barrier.js";

/** A `wait` whose WAITs the test answers one by one. */
function controlledWait() {
  const waits: ReturnType<typeof deferred<number>>[] = [];
  return {
    waits,
    wait() {
      const done = deferred<number>();
      waits.push(done);
      return done.promise;
    },
  };
}

describe("replication barrier", () => {
  it("sends one WAIT for a write, and one more for every write answered while it is out", async () => {
    const { waits, wait } = controlledWait();
    const barrier = createReplicationBarrier(wait);
    const first = barrier.confirm(barrier.wrote());
    expect(waits).toHaveLength(1);
    // Answered while the first WAIT is out: it may have been sent before them, so they
    // share the next one, sent when the first returns.
    const later = [barrier.wrote(), barrier.wrote(), barrier.wrote()].map((t) =>
      barrier.confirm(t),
    );
    expect(waits).toHaveLength(1);
    waits[0]?.resolve(1);
    expect(await first).toBe(1);
    await Promise.resolve();
    expect(waits).toHaveLength(2);
    waits[1]?.resolve(2);
    expect(await Promise.all(later)).toEqual([2, 2, 2]);
    // Idle again: the next write gets a WAIT of its own at once.
    const alone = barrier.confirm(barrier.wrote());
    expect(waits).toHaveLength(3);
    waits[2]?.resolve(1);
    expect(await alone).toBe(1);
  });

  it("joins a WAIT sent after the write was answered", async () => {
    const { waits, wait } = controlledWait();
    const barrier = createReplicationBarrier(wait);
    const ticket = barrier.wrote();
    const a = barrier.confirm(barrier.wrote());
    const b = barrier.confirm(ticket);
    expect(waits).toHaveLength(1);
    waits[0]?.resolve(1);
    expect(await Promise.all([a, b])).toEqual([1, 1]);
  });

  it("rejects every append sharing a failed WAIT, and the next WAIT still goes out", async () => {
    const { waits, wait } = controlledWait();
    const barrier = createReplicationBarrier(wait);
    const first = barrier.confirm(barrier.wrote());
    const second = barrier.confirm(barrier.wrote());
    waits[0]?.reject(new Error("Connection is closed."));
    await expect(first).rejects.toThrow("Connection is closed.");
    await Promise.resolve();
    await Promise.resolve();
    expect(waits).toHaveLength(2);
    waits[1]?.reject(new Error("Connection is closed."));
    await expect(second).rejects.toThrow("Connection is closed.");
    const third = barrier.confirm(barrier.wrote());
    waits[2]?.resolve(1);
    expect(await third).toBe(1);
  });
});
