import { exponential } from "@lifeline/backoff";
import { describe, expect, it } from "vitest";
import {
  createTransportSelection,
  defaultProbeBackoff,
  failedOnTheWire,
  refusedByProxy,
  type SelectionOptions,
  type TransportName,
} from "../../src/transport/selection.js";
import { ManualClock } from "../helpers/manual-clock.js";

function setup(overrides: Partial<SelectionOptions> = {}) {
  const clock = new ManualClock();
  const probes: TransportName[] = [];
  const selection = createTransportSelection({
    transports: ["websocket", "sse"],
    fallbackAfter: 2,
    probeBackoff: exponential({
      baseMs: 1000,
      factor: 2,
      capMs: 8000,
      maxAttempts: Infinity,
      jitter: "none",
    }),
    random: () => 0.5,
    clock,
    probe: (name) => probes.push(name),
    ...overrides,
  });
  return { clock, probes, selection };
}

const networkError = { greeted: false } as const;
const dropped = { greeted: false, code: 1006 } as const;

describe("transport selection", () => {
  it("falls back to SSE after fallbackAfter WebSocket attempts fail in a row", () => {
    const { selection } = setup({ fallbackAfter: 3 });
    selection.attemptEnded(networkError);
    selection.attemptEnded(dropped);
    expect(selection.current).toBe("websocket");
    selection.attemptEnded(networkError);
    expect(selection.current).toBe("sse");
  });

  it("falls back at once when a proxy refuses the upgrade with an HTTP status", () => {
    for (const status of [400, 403, 404, 426, 502]) {
      const { selection } = setup({ fallbackAfter: 5 });
      selection.attemptEnded({ greeted: false, refusedStatus: status });
      expect(selection.current).toBe("sse");
    }
  });

  it("counts 429 and 503 on the upgrade as failures, not as a proxy's refusal", () => {
    const { selection } = setup({ fallbackAfter: 2 });
    selection.attemptEnded({ greeted: false, refusedStatus: 503 });
    expect(selection.current).toBe("websocket");
    selection.attemptEnded({ greeted: false, refusedStatus: 429 });
    expect(selection.current).toBe("sse");
  });

  it("never falls back for a connection that worked, nor for close codes the server chose", () => {
    const { selection } = setup({ fallbackAfter: 1 });
    selection.attemptEnded({ greeted: true, code: 1006 });
    selection.attemptEnded({ greeted: false, code: 4429 });
    selection.attemptEnded({ greeted: false, code: 4401 });
    selection.attemptEnded({ greeted: false, code: 1013 });
    expect(selection.current).toBe("websocket");
  });

  it("starts the count over after a hello", () => {
    const { selection } = setup({ fallbackAfter: 2 });
    selection.attemptEnded(networkError);
    selection.connected();
    selection.attemptEnded(networkError);
    expect(selection.current).toBe("websocket");
  });

  it("goes back to the WebSocket when SSE fails as often in turn", () => {
    const { selection } = setup();
    selection.attemptEnded(networkError);
    selection.attemptEnded(networkError);
    expect(selection.current).toBe("sse");
    selection.attemptEnded({ greeted: false, refusedStatus: 403 });
    expect(selection.current).toBe("sse");
    selection.attemptEnded(networkError);
    expect(selection.current).toBe("websocket");
  });

  it("stays on the only transport it is given", () => {
    const { selection, clock, probes } = setup({ transports: ["sse"] });
    selection.attemptEnded({ greeted: false, refusedStatus: 403 });
    selection.attemptEnded(networkError);
    selection.connected();
    clock.advance(60_000);
    expect(selection.current).toBe("sse");
    expect(probes).toEqual([]);
  });

  it("probes the WebSocket with backoff while connected over SSE, and switches on a greeted probe", () => {
    const { selection, clock, probes } = setup();
    selection.attemptEnded({ greeted: false, refusedStatus: 403 });
    selection.connected();
    expect(clock.pending()).toEqual([1000]);
    clock.advance(1000);
    expect(probes).toEqual(["websocket"]);
    expect(selection.probing).toBe("websocket");
    selection.probeEnded({ greeted: false, refusedStatus: 403 });
    expect(clock.pending()).toEqual([2000]);
    clock.advance(2000);
    selection.probeEnded(networkError);
    expect(clock.pending()).toEqual([4000]);
    clock.advance(4000);
    expect(probes).toHaveLength(3);
    selection.probeEnded({ greeted: true });
    expect(selection.current).toBe("websocket");
    expect(selection.probing).toBeUndefined();
    expect(clock.pending()).toEqual([]);
  });

  it("starts the probe delays over once back on the WebSocket", () => {
    const { selection, clock } = setup();
    selection.attemptEnded({ greeted: false, refusedStatus: 403 });
    selection.connected();
    clock.advance(1000);
    selection.probeEnded({ greeted: true });
    selection.connected();
    selection.attemptEnded({ greeted: false, refusedStatus: 403 });
    selection.connected();
    expect(clock.pending()).toEqual([1000]);
  });

  it("does not probe while the SSE connection is down, nor after stop()", () => {
    const { selection, clock, probes } = setup();
    selection.attemptEnded({ greeted: false, refusedStatus: 403 });
    selection.connected();
    selection.disconnected();
    clock.advance(10_000);
    expect(probes).toEqual([]);
    selection.connected();
    selection.stop();
    clock.advance(10_000);
    expect(probes).toEqual([]);
    selection.probeEnded({ greeted: true });
    expect(selection.current).toBe("sse");
  });

  it("stops probing once a finite probe policy is spent", () => {
    const { selection, clock, probes } = setup({
      probeBackoff: exponential({ baseMs: 10, maxAttempts: 2, jitter: "none" }),
    });
    selection.attemptEnded({ greeted: false, refusedStatus: 403 });
    selection.connected();
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      selection.probeEnded(networkError);
    }
    expect(probes).toHaveLength(2);
    expect(clock.pending()).toEqual([]);
  });

  it("takes a new list at run time: the first is next, counts and probes start over", () => {
    const { selection, clock, probes } = setup();
    selection.attemptEnded({ greeted: false, refusedStatus: 403 });
    selection.connected();
    expect(clock.pending()).toEqual([1000]);
    selection.use(["websocket", "sse"]);
    expect(selection.current).toBe("websocket");
    expect(clock.pending()).toEqual([]);
    selection.use(["sse"]);
    expect(selection.current).toBe("sse");
    selection.connected();
    clock.advance(60_000);
    expect(probes).toEqual([]);
    expect(() => selection.use(["sse", "sse"])).toThrow(TypeError);
    expect(selection.current).toBe("sse");
  });

  it("refuses transports and fallbackAfter it cannot use", () => {
    const base = { fallbackAfter: 2 };
    for (const transports of [[], ["websocket", "websocket"], ["polling"]]) {
      expect(() => setup({ ...base, transports: transports as TransportName[] })).toThrow(
        /"transports" to list "websocket" and\/or "sse"/,
      );
    }
    for (const fallbackAfter of [0, 1.5, Number.NaN]) {
      expect(() => setup({ fallbackAfter })).toThrow(/"fallbackAfter" to be an integer >= 1/);
    }
  });

  it("has a default probe schedule that starts within seconds and never ends", () => {
    const policy = defaultProbeBackoff();
    expect(policy).toMatchObject({ kind: "exponential", baseMs: 5000, capMs: 300_000 });
    expect(policy.maxAttempts).toBe(Infinity);
  });

  it("tells wire failures and proxy refusals apart", () => {
    expect(failedOnTheWire({ greeted: false, code: 1005 })).toBe(true);
    expect(failedOnTheWire({ greeted: false, code: 4409 })).toBe(false);
    expect(refusedByProxy({ greeted: false })).toBe(false);
    expect(refusedByProxy({ greeted: true, refusedStatus: 403 })).toBe(false);
  });
});
