import type { ClientState, StateChange } from "@lifeline/client";
import { describe, expect, it } from "vitest";
import { type ClientFigures, indicatorFor, MonitorModel } from "../src/monitor/model.js";
import { render } from "../src/monitor/render.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const figures: ClientFigures = {
  clientId: "cli-1",
  connectionId: "c-7",
  heartbeatIntervalMs: 25_000,
  uptimeMs: 65_000,
  duplicatesDropped: 0,
  gaps: 1,
  queueSize: 0,
};

function state(overrides: Partial<ClientState>): ClientState {
  return { state: "open", status: "open", attempt: 0, since: T0, ...overrides } as ClientState;
}

function model(): MonitorModel {
  const m = new MonitorModel("ws://127.0.0.1:8765/ws", ["demo/ticks", "demo/notes"], T0);
  const change: StateChange = {
    prev: "connecting",
    next: "open",
    cause: { reason: "the server said hello" },
    snapshot: state({}),
  };
  m.onState(change, T0);
  for (let i = 1; i <= 20; i++) {
    m.onMessage(
      { topic: "demo/ticks", offset: 100 + i, epoch: "e1", data: i, ts: T0 },
      T0 + i * 100,
    );
  }
  return m;
}

describe("indicatorFor", () => {
  it("is ● when open, ◐ on the way, ○ when not trying", () => {
    expect(indicatorFor("open")).toBe("●");
    for (const s of ["connecting", "reconnecting", "degraded"] as const)
      expect(indicatorFor(s)).toBe("◐");
    for (const s of ["idle", "closed", "failed"] as const) expect(indicatorFor(s)).toBe("○");
  });
});

describe("render", () => {
  it("shows the latest round trip once one was measured", () => {
    const lines = render(model().view(state({}), { ...figures, roundTripMs: 3 }, T0), 80, 24);
    expect(lines[2]!.text).toMatch(/^rtt 3 ms {2}dups 0 {2}gaps 1 {2}queued 0 +$/);
  });

  it("fills an 80x24 terminal exactly: status first, keys last", () => {
    const lines = render(model().view(state({}), figures, T0 + 2000), 80, 24);
    expect(lines).toHaveLength(24);
    for (const line of lines) expect([...line.text]).toHaveLength(80);
    expect(lines[0]!.text).toMatch(/^● open {2}up 1m05s {2}ws:\/\/127\.0\.0\.1:8765\/ws +$/);
    expect(lines[0]!.style).toBe("ok");
    expect(lines[1]!.text).toMatch(/^client cli-1 {2}conn c-7 {2}- {2}heartbeat 25\.0s +$/);
    expect(lines[2]!.text).toMatch(/^rtt - {2}dups 0 {2}gaps 1 {2}queued 0 +$/);
    expect(lines[5]!.text).toMatch(/^demo\/ticks +10\.0 +120 +0 {2}e1 +$/);
    expect(lines[6]!.text).toMatch(/^demo\/notes +0\.0 +- +0 {2}- +$/);
    expect(lines.at(-1)!.text.trim()).toBe("q quit  r reconnect  p pause");
  });

  it("fits the figures of a real connection in 80 columns without cutting any", () => {
    const real: ClientFigures = {
      ...figures,
      clientId: "cli-49bdfd24",
      connectionId: "b7e34a0a-2f",
      transport: "websocket",
      codec: "msgpack",
      roundTripMs: 1234,
      duplicatesDropped: 12_345,
      gaps: 678,
      queueSize: 1000,
    };
    const lines = render(model().view(state({}), real, T0), 80, 24);
    expect(lines[1]!.text).toMatch(
      /^client cli-49bdfd24 {2}conn b7e34a0a-2f {2}websocket\/msgpack {2}heartbeat 25\.0s +$/,
    );
    expect(lines[2]!.text).toMatch(/^rtt 1234 ms {2}dups 12345 {2}gaps 678 {2}queued 1000 +$/);
  });

  it("counts down to the next try while reconnecting, with the last cause", () => {
    const reconnecting = state({
      state: "reconnecting",
      status: "reconnecting",
      attempt: 3,
      nextRetryAt: T0 + 2400,
      cause: { code: 1012, reason: "restarting", errorClass: "server_error" },
    });
    const lines = render(model().view(reconnecting, figures, T0), 80, 24);
    expect(lines[0]!.text).toMatch(/^◐ reconnecting {2}attempt 3 {2}next try in 2\.4s {2}ws:/);
    expect(lines[0]!.style).toBe("busy");
    expect(lines[3]!.text).toMatch(/^last: 1012 service_restart: restarting +$/);
  });

  it("shows an error as a toast for 5 s and keeps it in the events", () => {
    const m = model();
    m.onError(Object.assign(new Error("not allowed"), { code: "forbidden" }) as never, T0);
    expect(render(m.view(state({}), figures, T0 + 1000), 80, 24)[3]).toEqual({
      text: `! forbidden: not allowed${" ".repeat(56)}`,
      style: "toast",
    });
    const later = render(m.view(state({}), figures, T0 + 6000), 80, 24);
    expect(later[3]!.text.trim()).toBe("");
    expect(later.some((line) => /forbidden: not allowed/.test(line.text))).toBe(true);
  });

  it("moves a topic's row to where delivery resumed after a gap", () => {
    const m = model();
    m.onGap(
      {
        topic: "demo/ticks",
        reason: "epoch_changed",
        since: { offset: 120, epoch: "e1" },
        resumedAt: { offset: 0, epoch: "e2" },
      },
      T0 + 2500,
    );
    const lines = render(m.view(state({}), figures, T0 + 2500), 80, 24);
    expect(lines[5]!.text).toMatch(/^demo\/ticks +\d+\.\d +0 +1 {2}e2 +$/);
    expect(lines.some((line) => /gap on demo\/ticks: epoch_changed$/.test(line.text.trim()))).toBe(
      true,
    );
  });

  it("still leads with the status line in a tiny terminal", () => {
    const failed = state({ state: "failed", status: "failed" });
    const lines = render(model().view(failed, figures, T0), 20, 3);
    expect(lines.map((line) => line.text)).toEqual([
      "○ failed  gave up, …",
      "client cli-1  conn …",
      "q quit  r reconnect…",
    ]);
  });
});
