/**
 * Line charts of the scale scenario: one panel per figure, the connection count on the x
 * axis, a line per contender through its medians. A cost that stays flat per connection
 * is a flat line; one that grows with the audience bends up.
 */
import type { ScenarioResult } from "../harness.js";
import { COLORS, escapeXml, formatNumber } from "./svg.js";

const WIDTH = 720;
const PANEL_H = 220;
const PLOT = { left: 70, right: 150, top: 36, bottom: 34 };

interface Point {
  readonly n: number;
  readonly value: number;
}

/** The `scale-<N>` results in order of N, or none. */
export function scaleResults(results: readonly ScenarioResult[]): ScenarioResult[] {
  return results
    .filter((r) => /^scale-\d+$/.test(r.id))
    .sort((a, b) => Number(a.id.slice(6)) - Number(b.id.slice(6)));
}

export function renderCurves(results: readonly ScenarioResult[], metricIds: readonly string[]) {
  const scale = scaleResults(results);
  const contenders = [...new Set(scale.flatMap((r) => r.contenders))];
  const panels = metricIds.map((id, i) => panel(scale, contenders, id, i * PANEL_H + 30));
  const height = 30 + metricIds.length * PANEL_H;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>.t{font-size:15px;font-weight:600}.h{font-size:12px;fill:#333}.a{font-size:11px;fill:#555}.l{font-size:12px}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="20" class="t">Cost against the number of connections (medians of runs)</text>
${panels.join("\n")}
</svg>
`;
}

function panel(
  scale: readonly ScenarioResult[],
  contenders: readonly string[],
  metricId: string,
  top: number,
): string {
  const spec = scale[0]?.metrics.find((m) => m.id === metricId);
  if (spec === undefined) return "";
  const lines = contenders.map((contender) => ({
    contender,
    points: scale
      .map((r) => ({
        n: Number(r.id.slice(6)),
        value: r.metrics.find((m) => m.id === metricId)?.values[contender]?.median ?? Number.NaN,
      }))
      .filter((p) => Number.isFinite(p.value)),
  }));
  const all = lines.flatMap((l) => l.points);
  const maxN = Math.max(...all.map((p) => p.n), 1);
  const maxV = Math.max(...all.map((p) => p.value), Number.MIN_VALUE) * 1.1;
  const w = WIDTH - PLOT.left - PLOT.right;
  const h = PANEL_H - PLOT.top - PLOT.bottom;
  const x = (n: number) => PLOT.left + (n / maxN) * w;
  const y = (v: number) => top + PLOT.top + h - (v / maxV) * h;
  const parts = [
    `<text x="8" y="${top + 18}" class="h">${escapeXml(spec.label)} (${escapeXml(spec.unit)}), ${spec.better} is better</text>`,
    `<path d="M${PLOT.left} ${top + PLOT.top}V${top + PLOT.top + h}H${PLOT.left + w}" stroke="#999" fill="none"/>`,
    `<text x="${PLOT.left - 6}" y="${top + PLOT.top + 4}" class="a" text-anchor="end">${formatNumber(maxV, spec.digits)}</text>`,
    `<text x="${PLOT.left - 6}" y="${top + PLOT.top + h}" class="a" text-anchor="end">0</text>`,
  ];
  for (const n of [...new Set(all.map((p) => p.n))]) {
    parts.push(
      `<text x="${x(n).toFixed(1)}" y="${top + PLOT.top + h + 16}" class="a" text-anchor="middle">${(n / 1000).toLocaleString("en")}k</text>`,
    );
  }
  lines.forEach(({ contender, points }, i) => {
    const color = COLORS[contender] ?? "#2ca02c";
    const path = points
      .map((p: Point, j) => `${j === 0 ? "M" : "L"}${x(p.n).toFixed(1)} ${y(p.value).toFixed(1)}`)
      .join("");
    if (path !== "") {
      parts.push(`<path d="${path}" stroke="${color}" stroke-width="2" fill="none"/>`);
      for (const p of points) {
        parts.push(
          `<circle cx="${x(p.n).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3" fill="${color}"/>`,
        );
      }
    }
    const ly = top + PLOT.top + 12 + i * 18;
    parts.push(
      `<rect x="${WIDTH - PLOT.right + 16}" y="${ly - 9}" width="12" height="3" fill="${color}"/>`,
      `<text x="${WIDTH - PLOT.right + 34}" y="${ly}" class="l">${escapeXml(contender)}</text>`,
    );
  });
  return parts.join("\n");
}
