import { describe, expect, it } from "vitest";
import { Runs, type ScenarioResult } from "../src/harness.js";
import { renderCurves, scaleResults } from "../src/report/curves.js";
import { checkTargets, scenarioTable } from "../src/report/markdown.js";
import { renderChart } from "../src/report/svg.js";

function scenario(): ScenarioResult {
  const runs = new Runs();
  runs.add("lifeline", { cpu: 10 });
  runs.add("lifeline", { cpu: 12 });
  runs.add("ws", { cpu: 20 });
  runs.add("ws", { cpu: 24 });
  const spec = {
    id: "cpu",
    label: "cpu <per> delivery",
    unit: "µs",
    better: "lower",
    digits: 1,
  } as const;
  return {
    id: "fanout-1000",
    title: "Fan-out & more",
    description: "",
    params: { runs: 2 },
    baseline: "ws",
    contenders: ["lifeline", "ws"],
    metrics: [runs.metric(spec, ["lifeline", "ws"], "ws")],
    chartMetrics: ["cpu"],
    notes: [],
    errors: [],
  };
}

describe("Runs", () => {
  it("turns runs into medians and ratios against the baseline's median", () => {
    const metric = scenario().metrics[0]!;
    expect(metric.values.lifeline).toMatchObject({ median: 11, min: 10, max: 12, ratio: 0.5 });
    expect(metric.values.ws?.ratio).toBe(1);
  });
});

describe("checkTargets", () => {
  it("checks ratios, differences and absolute values, matching a scenario by prefix", () => {
    const checks = checkTargets(
      [
        {
          text: "r",
          scenario: "fanout-1000",
          metric: "cpu",
          contender: "lifeline",
          kind: "ratio",
          against: "ws",
          op: "<=",
          limit: 1.1,
        },
        {
          text: "d",
          scenario: "fanout",
          metric: "cpu",
          contender: "lifeline",
          kind: "difference",
          against: "ws",
          op: "<",
          limit: -20,
        },
        {
          text: "a",
          scenario: "fanout",
          metric: "cpu",
          contender: "lifeline",
          kind: "absolute",
          op: ">=",
          limit: 11,
        },
        {
          text: "n",
          scenario: "storm",
          metric: "cpu",
          contender: "lifeline",
          kind: "absolute",
          op: "<",
          limit: 1,
        },
      ],
      [scenario()],
    );
    expect(checks.map((c) => [c.measured, c.met])).toEqual([
      [0.5, true],
      [-11, false],
      [11, true],
      [Number.NaN, undefined],
    ]);
  });
});

describe("reports", () => {
  it("draws one bar per contender with its ratio, escaping text", () => {
    const svg = renderChart(scenario());
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("Fan-out &amp; more");
    expect(svg).toContain("cpu &lt;per&gt; delivery");
    expect(svg.match(/<rect x="120"/g)).toHaveLength(2);
    expect(svg).toContain("×0.50");
  });

  it("writes median, spread and ratio in each table cell", () => {
    expect(scenarioTable(scenario())).toContain(
      "| 11.0 (10.0–12.0) **×0.50** | 22.0 (20.0–24.0) |",
    );
  });
});

describe("renderCurves", () => {
  function at(clients: number, lifeline: number, ws: number): ScenarioResult {
    const runs = new Runs();
    runs.add("lifeline", { rss: lifeline });
    runs.add("ws-preframed", { rss: ws });
    const spec = { id: "rss", label: "RSS", unit: "KB", better: "lower", digits: 1 } as const;
    const contenders = ["lifeline", "ws-preframed"];
    return {
      ...scenario(),
      id: `scale-${clients}`,
      contenders,
      baseline: "ws-preframed",
      metrics: [runs.metric(spec, contenders, "ws-preframed")],
    };
  }

  it("draws a line per contender through its medians in order of N, other scenarios ignored", () => {
    const results = [at(10_000, 12, 10), scenario(), at(1000, 11, 10), at(5000, 11.5, 10)];
    expect(scaleResults(results).map((r) => r.id)).toEqual([
      "scale-1000",
      "scale-5000",
      "scale-10000",
    ]);
    const svg = renderCurves(results, ["rss"]);
    const paths = [...svg.matchAll(/<path d="(M[^"]+)" stroke="(#[0-9a-f]+)" stroke-width="2"/g)];
    expect(paths).toHaveLength(2);
    for (const [, d] of paths) {
      const xs = [...(d as string).matchAll(/[ML]([\d.]+) /g)].map((m) => Number(m[1]));
      expect(xs).toHaveLength(3);
      expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    }
    expect(svg).toContain(">1k<");
    expect(svg).toContain(">10k<");
  });
});
