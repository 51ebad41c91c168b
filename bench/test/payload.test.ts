import { describe, expect, it } from "vitest";
import { makeData, telemetryValues } from "../src/payload.js";

describe("makeData", () => {
  it("pads a message to exactly the size asked for", () => {
    expect(JSON.stringify(makeData(12, 200)).length).toBe(200);
  });

  it("fills a telemetry message with readings up to the size asked for", () => {
    const data = makeData(12, 4096, "telemetry");
    const size = JSON.stringify(data).length;
    expect(size).toBeLessThanOrEqual(4096);
    expect(size).toBeGreaterThan(4096 - 20);
    expect(data.pad).toBeUndefined();
  });
});

describe("telemetryValues", () => {
  it("mixes full-precision doubles, two-decimal values and integer counters", () => {
    const values = telemetryValues(400);
    expect(values).toEqual(telemetryValues(400));
    expect(String(values[3]).length).toBeGreaterThan(15);
    expect(String(values[4]).split(".")[1]?.length ?? 0).toBeLessThanOrEqual(2);
    expect(Number.isInteger(values[5])).toBe(true);
  });

  it("never writes more JSON than asked for", () => {
    for (const chars of [0, 1, 10, 1000]) {
      const values = telemetryValues(chars);
      expect(JSON.stringify(values).length - 2).toBeLessThanOrEqual(chars);
    }
  });
});
