/**
 * Horizontal bar charts as standalone SVG: one panel per metric, a bar per contender at
 * its median with a whisker from min to max and the ratio against the baseline. No
 * browser and no chart library: the text is the drawing.
 */
import type { MetricResult, ScenarioResult } from "../harness.js";

export const COLORS: Readonly<Record<string, string>> = {
  lifeline: "#1f77b4",
  "lifeline-client": "#1f77b4",
  ws: "#8c8c8c",
  "ws-preframed": "#505050",
  "bare-ws": "#8c8c8c",
  socketio: "#e377c2",
};

const WIDTH = 720;
const LABEL_W = 120;
const VALUE_W = 190;
const ROW_H = 26;
const PANEL_HEAD = 30;
const PANEL_GAP = 18;

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function formatNumber(value: number, digits: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function panel(metric: MetricResult, contenders: readonly string[], top: number): string {
  const barW = WIDTH - LABEL_W - VALUE_W - 20;
  const maxValue = Math.max(
    ...contenders.map((c) => metric.values[c]?.max ?? 0).filter(Number.isFinite),
    Number.MIN_VALUE,
  );
  const scale = (v: number): number => (Number.isFinite(v) ? (v / maxValue) * barW : 0);
  const parts: string[] = [];
  const hint = metric.better === "higher" ? "higher is better" : "lower is better";
  const unit = metric.unit === "" ? "" : ` (${metric.unit})`;
  parts.push(
    `<text x="8" y="${top + 18}" class="h">${escapeXml(metric.label)}${escapeXml(unit)}, median of runs, whisker min–max; ${hint}</text>`,
  );
  contenders.forEach((contender, i) => {
    const y = top + PANEL_HEAD + i * ROW_H;
    const v = metric.values[contender];
    const color = COLORS[contender] ?? "#2ca02c";
    parts.push(`<text x="${LABEL_W - 8}" y="${y + 16}" class="l">${escapeXml(contender)}</text>`);
    if (v === undefined || !Number.isFinite(v.median)) {
      parts.push(`<text x="${LABEL_W + 4}" y="${y + 16}" class="v">not measured</text>`);
      return;
    }
    parts.push(
      `<rect x="${LABEL_W}" y="${y + 4}" width="${scale(v.median).toFixed(1)}" height="${ROW_H - 8}" fill="${color}"/>`,
    );
    const x0 = LABEL_W + scale(v.min);
    const x1 = LABEL_W + scale(v.max);
    const ym = y + ROW_H / 2;
    parts.push(
      `<path d="M${x0.toFixed(1)} ${ym}H${x1.toFixed(1)}M${x0.toFixed(1)} ${ym - 5}V${ym + 5}M${x1.toFixed(1)} ${ym - 5}V${ym + 5}" stroke="#000" stroke-width="1"/>`,
    );
    const ratio = contender === metric.baseline ? "baseline" : `×${formatNumber(v.ratio, 2)}`;
    parts.push(
      `<text x="${LABEL_W + barW + 8}" y="${y + 16}" class="v">${formatNumber(v.median, metric.digits)} ${escapeXml(metric.unit)} (${ratio})</text>`,
    );
  });
  return parts.join("\n");
}

export function renderChart(scenario: ScenarioResult): string {
  const metrics = scenario.chartMetrics
    .map((id) => scenario.metrics.find((m) => m.id === id))
    .filter((m): m is MetricResult => m !== undefined);
  const panelH = PANEL_HEAD + scenario.contenders.length * ROW_H;
  const height = 34 + metrics.length * (panelH + PANEL_GAP);
  const body = metrics
    .map((metric, i) => panel(metric, scenario.contenders, 34 + i * (panelH + PANEL_GAP)))
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>.t{font-size:15px;font-weight:600}.h{font-size:12px;fill:#333}.l{font-size:12px;text-anchor:end}.v{font-size:12px}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="20" class="t">${escapeXml(scenario.title)}</text>
${body}
</svg>
`;
}
