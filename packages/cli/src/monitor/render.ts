import { briefCause } from "../output.js";
import { indicatorFor, type MonitorEvent, type MonitorView } from "./model.js";

/** How the terminal colours a whole line; `render` stays free of escape codes. */
export type LineStyle = "ok" | "busy" | "down" | "toast" | "dim" | "heading" | "plain";

export interface Line {
  readonly text: string;
  readonly style: LineStyle;
}

const KEYS = "q quit  r reconnect  p pause";

/** Cut or pad to exactly `width` columns (every character drawn here is one column wide). */
export function fit(text: string, width: number): string {
  const chars = [...text];
  if (chars.length > width) return `${chars.slice(0, Math.max(0, width - 1)).join("")}…`;
  return text + " ".repeat(width - chars.length);
}

function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function clockTime(at: number): string {
  return new Date(at).toTimeString().slice(0, 8);
}

/** `◐ reconnecting  attempt 2  next try in 1.4s`: the line a glance at the screen reads. */
export function statusLine(view: MonitorView): string {
  const { state, figures, now } = view;
  const parts = [`${indicatorFor(state.state)} ${state.state}`];
  switch (state.state) {
    case "open":
      parts.push(`up ${duration(figures.uptimeMs)}`);
      break;
    case "degraded":
      parts.push("heartbeats late, probing");
      break;
    case "connecting":
      // `attempt` counts retries, as the client's log does ("retry 2 after 900 ms").
      if (state.attempt > 0) parts.push(`attempt ${state.attempt}`);
      break;
    case "reconnecting":
      parts.push(`attempt ${state.attempt}`);
      if (state.nextRetryAt !== undefined)
        parts.push(`next try in ${seconds(state.nextRetryAt - now)}`);
      else parts.push("waiting to go online");
      break;
    case "failed":
      parts.push("gave up, r to retry");
      break;
    default:
      break;
  }
  return parts.join("  ");
}

/** Who and how: `client cli-1  conn c-7  websocket/json  heartbeat 25.0s`. */
function identityLine(view: MonitorView): string {
  const { figures } = view;
  const wire = figures.transport ? `${figures.transport}/${figures.codec ?? "?"}` : "-";
  const heartbeat =
    figures.heartbeatIntervalMs === undefined ? "-" : seconds(figures.heartbeatIntervalMs);
  return [
    `client ${figures.clientId}`,
    `conn ${figures.connectionId ?? "-"}`,
    wire,
    `heartbeat ${heartbeat}`,
  ].join("  ");
}

/** What was measured: `rtt 3 ms  dups 0  gaps 1  queued 0`. */
function countersLine(view: MonitorView): string {
  const { figures } = view;
  return [
    `rtt ${figures.roundTripMs === undefined ? "-" : `${figures.roundTripMs} ms`}`,
    `dups ${figures.duplicatesDropped}`,
    `gaps ${figures.gaps}`,
    `queued ${figures.queueSize}`,
  ].join("  ");
}

/** The notice line: a fresh error, else why the connection is not open, else nothing. */
function noticeLine(view: MonitorView): Line {
  if (view.toast) return { text: `! ${view.toast.text}`, style: "toast" };
  const { state } = view;
  const failure = state.cause?.code !== undefined || state.cause?.errorClass !== undefined;
  if (state.state !== "open" && state.cause && failure) {
    return { text: `last: ${briefCause(state.cause)}`, style: "dim" };
  }
  return { text: "", style: "plain" };
}

function topicLines(view: MonitorView, width: number, room: number): Line[] {
  if (view.topics.length === 0 || room < 2) return [];
  const nameWidth = Math.max(5, Math.min(32, width - 46));
  const row = (topic: string, rate: string, offset: string, gaps: string, epoch: string) =>
    `${fit(topic, nameWidth)} ${rate.padStart(8)} ${offset.padStart(12)} ${gaps.padStart(5)}  ${epoch}`;
  const lines: Line[] = [
    { text: row("topic", "msg/s", "last offset", "gaps", "epoch"), style: "heading" },
  ];
  const shown = view.topics.slice(0, room - 1);
  for (const topic of shown) {
    lines.push({
      text: row(
        topic.topic,
        topic.perSecond.toFixed(1),
        topic.lastOffset === undefined ? "-" : String(topic.lastOffset),
        String(topic.gaps),
        topic.epoch ?? "-",
      ),
      style: topic.gaps > 0 ? "busy" : "plain",
    });
  }
  if (shown.length < view.topics.length && lines.length > 1) {
    lines[lines.length - 1] = {
      text: `… and ${view.topics.length - shown.length + 1} more topics`,
      style: "dim",
    };
  }
  return lines;
}

function eventLine(event: MonitorEvent): Line {
  const style = event.kind === "error" ? "down" : event.kind === "gap" ? "busy" : "plain";
  return { text: `${clockTime(event.at)} ${event.text}`, style };
}

/**
 * One frame of exactly `rows` lines of exactly `columns` characters: status, identity
 * (ids, wire, heartbeat), counters (round trip, duplicates, gaps, queue), an error toast
 * while fresh, the topic table, then as many of the latest events as fit, and the keys at
 * the bottom. From 80x24 down to a few lines, the status line is always first.
 */
export function render(view: MonitorView, columns: number, rows: number): Line[] {
  const width = Math.max(10, columns);
  const indicator = indicatorFor(view.state.state);
  const statusStyle: LineStyle = indicator === "●" ? "ok" : indicator === "◐" ? "busy" : "down";
  const status = statusLine(view);
  const head: Line[] = [
    {
      text: [...status].length + 2 + view.url.length <= width ? `${status}  ${view.url}` : status,
      style: statusStyle,
    },
    { text: identityLine(view), style: "dim" },
    { text: countersLine(view), style: "dim" },
    noticeLine(view),
  ];
  const footer: Line = { text: view.paused ? `PAUSED (p resumes)  ${KEYS}` : KEYS, style: "dim" };
  const room = rows - head.length - 1;
  const topics = topicLines(view, width, Math.min(view.topics.length + 1, Math.floor(room / 2)));
  const eventRoom = room - topics.length - 1;
  const body: Line[] = [...topics];
  if (eventRoom > 0) {
    body.push({
      text: `${"─".repeat(2)} events ${"─".repeat(Math.max(0, width - 10))}`,
      style: "dim",
    });
    body.push(...view.events.slice(-eventRoom).map(eventLine));
  }
  const lines = [...head, ...body].slice(0, Math.max(1, rows - 1));
  while (lines.length < rows - 1) lines.push({ text: "", style: "plain" });
  if (rows > 1) lines.push(footer);
  return lines.map((line) => ({ text: fit(line.text, width), style: line.style }));
}
