import type { PresenceMember } from "@lifeline/client";
import { h, svg } from "./dom.js";
import { type Direction, GAIN_RANGE, type TelescopeInfo, type TelescopeState } from "./types.js";

export interface TelescopeCardActions {
  move(direction: Direction, durationMs: number): void;
  setGain(gain: number): void;
}

export interface TelescopeCard {
  readonly element: HTMLElement;
  /** Shows a telescope's whole state (rebuilt from its status deltas). */
  show(state: TelescopeState): void;
  setOnline(online: boolean): void;
  /** Who watches this telescope now (the presence of its status topic). */
  setWatchers(members: readonly PresenceMember[]): void;
}

const CHART = { width: 280, height: 64, windowMs: 60_000, maxPoints: 400 } as const;

const FIELDS: readonly {
  key: keyof TelescopeState;
  label: string;
  format: (v: TelescopeState[keyof TelescopeState]) => string;
}[] = [
  { key: "battery", label: "Battery", format: (v) => `${Number(v).toFixed(1)} %` },
  { key: "temperature_c", label: "Temperature", format: (v) => `${Number(v).toFixed(1)} °C` },
  { key: "gain", label: "Gain", format: (v) => String(v) },
  { key: "ra_deg", label: "RA", format: (v) => formatRa(Number(v)) },
  { key: "dec_deg", label: "Dec", format: (v) => formatDec(Number(v)) },
  { key: "tracking", label: "Tracking", format: (v) => (v ? "on" : "off") },
  { key: "moving", label: "Moving", format: (v) => (v === undefined ? "—" : String(v)) },
];

/** One telescope: live values, a temperature chart over the last minute, arrows and gain. */
export function createTelescopeCard(
  info: TelescopeInfo,
  actions: TelescopeCardActions,
): TelescopeCard {
  const values = new Map<keyof TelescopeState, HTMLElement>();
  const rows = FIELDS.flatMap((field) => {
    const value = h("dd", {
      text: "…",
      attrs: { "data-testid": `${info.id}-${field.key}`, "data-field": field.key },
    });
    values.set(field.key, value);
    return [h("dt", { text: field.label }), value];
  });

  const line = svg("polyline", { fill: "none", stroke: "currentColor", "stroke-width": 1.5 });
  const minLabel = svg("text", { x: 2, y: CHART.height - 3, class: "chart-label" });
  const maxLabel = svg("text", { x: 2, y: 10, class: "chart-label" });
  const chart = svg("svg", {
    viewBox: `0 0 ${CHART.width} ${CHART.height}`,
    class: "chart",
    role: "img",
    "aria-label": `temperature of ${info.id} over the last minute`,
  });
  chart.append(line, minLabel, maxLabel);
  const samples: { t: number; v: number }[] = [];

  const duration = h(
    "select",
    { attrs: { "aria-label": "move duration", "data-testid": `${info.id}-duration` } },
    ...[300, 1000, 2000, 5000].map((ms) =>
      h("option", {
        text: `${ms} ms`,
        attrs: ms === 1000 ? { value: String(ms), selected: "" } : { value: String(ms) },
      }),
    ),
  );
  const arrow = (direction: Direction, symbol: string): HTMLButtonElement =>
    h("button", {
      class: `arrow arrow-${direction}`,
      text: symbol,
      attrs: {
        type: "button",
        title: `move ${direction}`,
        "data-testid": `${info.id}-move-${direction}`,
      },
      onClick: () => actions.move(direction, Number(duration.value)),
    });
  const pad = h(
    "div",
    { class: "pad" },
    arrow("up", "▲"),
    arrow("left", "◀"),
    arrow("right", "▶"),
    arrow("down", "▼"),
  );

  const gainInput = h("input", {
    attrs: {
      type: "number",
      min: String(GAIN_RANGE.min),
      max: String(GAIN_RANGE.max),
      step: "1",
      value: "80",
      "aria-label": "gain",
      "data-testid": `${info.id}-gain-input`,
    },
  });
  const gainButton = h("button", {
    text: "Set gain",
    attrs: { type: "button", "data-testid": `${info.id}-gain-set` },
    onClick: () => actions.setGain(Number(gainInput.value)),
  });

  const badge = h("span", { class: "badge" });
  const watchers = h("p", {
    class: "watchers",
    text: "Watchers: …",
    attrs: { "data-testid": `${info.id}-watchers`, "aria-live": "polite" },
  });
  const element = h(
    "article",
    { class: "card", attrs: { "data-testid": `telescope-${info.id}` } },
    h("header", {}, h("h2", { text: info.name }), h("code", { text: info.id }), badge),
    watchers,
    h("dl", { class: "values" }, ...rows),
    chart,
    h(
      "div",
      { class: "controls" },
      pad,
      h("label", { class: "field" }, "Duration ", duration),
      h("div", { class: "gain" }, gainInput, gainButton),
    ),
  );

  const setOnline = (online: boolean): void => {
    badge.className = `badge ${online ? "badge-ok" : "badge-error"}`;
    badge.textContent = online ? "online" : "offline";
    element.classList.toggle("card-offline", !online);
  };
  setOnline(info.online);

  let shown: TelescopeState | undefined;
  const show = (state: TelescopeState): void => {
    for (const field of FIELDS) {
      const value = state[field.key];
      // States are rebuilt without mutation, so an unchanged field is the same value.
      if (shown !== undefined && shown[field.key] === value) continue;
      const cell = values.get(field.key);
      if (cell !== undefined) cell.textContent = field.format(value);
    }
    if (shown?.temperature_c !== state.temperature_c) addSample(state.temperature_c);
    if (document.activeElement !== gainInput) gainInput.value = String(state.gain);
    shown = state;
  };

  const addSample = (v: number): void => {
    const now = Date.now();
    samples.push({ t: now, v });
    while (
      samples.length > CHART.maxPoints ||
      (samples[0] && samples[0].t < now - CHART.windowMs)
    ) {
      samples.shift();
    }
    // At least 1 °C tall, so a 0.1 °C flicker does not fill the chart.
    const min = Math.min(...samples.map((s) => s.v));
    const max = Math.max(...samples.map((s) => s.v));
    const pad = Math.max(0.2, (1 - (max - min)) / 2);
    const lo = min - pad;
    const hi = max + pad;
    const points = samples.map((s) => {
      const x = CHART.width - ((now - s.t) / CHART.windowMs) * CHART.width;
      const y = CHART.height - ((s.v - lo) / (hi - lo)) * (CHART.height - 14) - 7;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    line.setAttribute("points", points.join(" "));
    minLabel.textContent = `${lo.toFixed(1)} °C`;
    maxLabel.textContent = `${hi.toFixed(1)} °C`;
  };

  return {
    element,
    show,
    setOnline,
    setWatchers: (members) => {
      watchers.textContent = describeWatchers(members);
      watchers.dataset.count = String(members.length);
      watchers.dataset.clients = members
        .map((m) => m.clientId)
        .sort()
        .join(" ");
    },
  };
}

/** "Watchers: 3 (ada, grace, you)": users when the server names them, else client ids. */
function describeWatchers(members: readonly PresenceMember[]): string {
  if (members.length === 0) return "Watchers: none";
  const shown = members.slice(0, 5).map((m) => m.user ?? m.clientId);
  const more = members.length > shown.length ? ` and ${members.length - shown.length} more` : "";
  return `Watchers: ${members.length} (${shown.join(", ")}${more})`;
}

function formatRa(deg: number): string {
  const hours = deg / 15;
  const h_ = Math.floor(hours);
  const m = Math.floor((hours - h_) * 60);
  const s = ((hours - h_) * 60 - m) * 60;
  return `${h_}h ${String(m).padStart(2, "0")}m ${s.toFixed(1).padStart(4, "0")}s`;
}

function formatDec(deg: number): string {
  const sign = deg < 0 ? "−" : "+";
  const abs = Math.abs(deg);
  const d = Math.floor(abs);
  const m = Math.floor((abs - d) * 60);
  const s = Math.round(((abs - d) * 60 - m) * 60);
  return `${sign}${d}° ${String(m).padStart(2, "0")}′ ${String(s).padStart(2, "0")}″`;
}
