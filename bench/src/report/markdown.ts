/** The Markdown table of every scenario, and the target check. */
import type { ScenarioResult } from "../harness.js";
import { formatNumber } from "./svg.js";

export interface Target {
  readonly text: string;
  readonly scenario: string;
  readonly metric: string;
  readonly contender: string;
  /** ratio: median / median of `against`; difference: median − median of `against`; absolute: median. */
  readonly kind: "ratio" | "difference" | "absolute";
  readonly against?: string;
  readonly op: "<=" | ">=" | "<";
  readonly limit: number;
}

export interface TargetCheck extends Target {
  readonly measured: number;
  readonly met: boolean | undefined;
}

export function checkTargets(
  targets: readonly Target[],
  scenarios: readonly ScenarioResult[],
): TargetCheck[] {
  return targets.map((target) => {
    // "memory" matches memory-5000 (or memory-2000 in the quick profile).
    const scenario =
      scenarios.find((s) => s.id === target.scenario) ??
      scenarios.findLast((s) => s.id.startsWith(`${target.scenario}-`));
    const metric = scenario?.metrics.find((m) => m.id === target.metric);
    const value = metric?.values[target.contender]?.median ?? Number.NaN;
    const other =
      target.against === undefined
        ? Number.NaN
        : (metric?.values[target.against]?.median ?? Number.NaN);
    const measured =
      target.kind === "absolute" ? value : target.kind === "ratio" ? value / other : value - other;
    const met = !Number.isFinite(measured)
      ? undefined
      : target.op === "<="
        ? measured <= target.limit
        : target.op === ">="
          ? measured >= target.limit
          : measured < target.limit;
    return { ...target, measured, met };
  });
}

export function scenarioTable(scenario: ScenarioResult): string {
  const head = `| metric | ${scenario.contenders.join(" | ")} |`;
  const rule = `|---|${scenario.contenders.map(() => "---:").join("|")}|`;
  const rows = scenario.metrics.map((metric) => {
    const cells = scenario.contenders.map((contender) => {
      const v = metric.values[contender];
      if (v === undefined || !Number.isFinite(v.median)) return "n/a";
      const spread = `${formatNumber(v.min, metric.digits)}–${formatNumber(v.max, metric.digits)}`;
      const ratio = contender === metric.baseline ? "" : ` **×${formatNumber(v.ratio, 2)}**`;
      return `${formatNumber(v.median, metric.digits)} (${spread})${ratio}`;
    });
    const unit = metric.unit === "" ? "" : ` (${metric.unit})`;
    return `| ${metric.label}${unit} | ${cells.join(" | ")} |`;
  });
  return [head, rule, ...rows].join("\n");
}

export function targetTable(checks: readonly TargetCheck[]): string {
  const rows = checks.map((c) => {
    const unit = c.kind === "ratio" ? "×" : "";
    const measured = Number.isFinite(c.measured) ? `${formatNumber(c.measured, 2)}${unit}` : "n/a";
    const verdict = c.met === undefined ? "not measured" : c.met ? "met" : "**missed**";
    return `| ${c.text} | ${c.op} ${formatNumber(c.limit, 2)}${unit} | ${measured} | ${verdict} |`;
  });
  return ["| target | limit | measured | |", "|---|---:|---:|---|", ...rows].join("\n");
}

export function resultsMarkdown(
  scenarios: readonly ScenarioResult[],
  checks: readonly TargetCheck[],
  chartPrefix: string,
): string {
  const parts: string[] = [];
  parts.push("## Targets\n", targetTable(checks), "");
  for (const s of scenarios) {
    parts.push(`## ${s.title}\n`, s.description, "");
    parts.push(
      `Cells: median (min–max over ${String(s.params.runs ?? "?")} runs) and **×ratio** against \`${s.baseline}\` measured in the same invocation.\n`,
    );
    parts.push(scenarioTable(s), "");
    parts.push(`![${s.title}](${chartPrefix}${s.id}.svg)`, "");
    for (const note of s.notes) parts.push(`- ${note}`);
    for (const error of s.errors) parts.push(`- failed run: ${error}`);
    if (s.notes.length + s.errors.length > 0) parts.push("");
  }
  return parts.join("\n");
}
