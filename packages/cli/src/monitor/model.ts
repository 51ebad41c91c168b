import type {
  ClientState,
  CodecName,
  DeliveredMessage,
  GapEvent,
  LifelineError,
  StateChange,
  TransportName,
} from "@lifeline/client";
import { briefCause } from "../output.js";
import { RateMeter } from "./rate.js";

/** ● open, ◐ on its way (connecting, reconnecting, degraded), ○ not trying (closed, failed, idle). */
export type Indicator = "●" | "◐" | "○";

export function indicatorFor(status: ClientState["state"]): Indicator {
  switch (status) {
    case "open":
      return "●";
    case "connecting":
    case "reconnecting":
    case "degraded":
      return "◐";
    default:
      return "○";
  }
}

export interface MonitorEvent {
  /** Wall-clock time (ms since epoch). */
  readonly at: number;
  readonly kind: "state" | "gap" | "error" | "info";
  readonly text: string;
}

export interface TopicRow {
  readonly topic: string;
  readonly messages: number;
  readonly perSecond: number;
  readonly lastOffset?: number;
  readonly epoch?: string;
  readonly gaps: number;
}

/** Counters the client keeps (`client.stats()`), the part the screen shows. */
export interface ClientFigures {
  readonly clientId: string;
  readonly connectionId?: string;
  readonly heartbeatIntervalMs?: number;
  readonly uptimeMs: number;
  readonly duplicatesDropped: number;
  readonly gaps: number;
  readonly queueSize: number;
  /** The latest measured round trip to the server, in milliseconds. */
  readonly roundTripMs?: number;
  /** The wire of the latest attempt (`websocket` or `sse`) and the codec the server agreed. */
  readonly transport?: TransportName;
  readonly codec?: CodecName;
}

/** Everything one frame shows; `render()` turns it into lines. */
export interface MonitorView {
  readonly url: string;
  readonly now: number;
  readonly state: ClientState;
  readonly figures: ClientFigures;
  readonly topics: readonly TopicRow[];
  /** Oldest first. */
  readonly events: readonly MonitorEvent[];
  /** The latest error while it is fresh (5 s). */
  readonly toast?: MonitorEvent;
  readonly paused: boolean;
}

interface TopicTally {
  messages: number;
  readonly rate: RateMeter;
  lastOffset?: number;
  epoch?: string;
  gaps: number;
}

const MAX_EVENTS = 200;
const TOAST_MS = 5000;

/**
 * What the monitor has seen, fed by the client's events; pure apart from the times it is
 * given, so a test drives it with plain numbers.
 */
export class MonitorModel {
  private readonly events: MonitorEvent[] = [];
  private readonly topics = new Map<string, TopicTally>();
  private toast: MonitorEvent | undefined;
  paused = false;

  constructor(
    private readonly url: string,
    topics: readonly string[],
    now: number,
  ) {
    for (const topic of topics)
      this.topics.set(topic, { messages: 0, rate: new RateMeter(now), gaps: 0 });
  }

  onState(change: StateChange, now: number): void {
    const why = briefCause(change.cause);
    this.push({
      at: now,
      kind: "state",
      text: `${change.prev} -> ${change.next}${why ? `: ${why}` : ""}`,
    });
  }

  onMessage(message: DeliveredMessage, now: number): void {
    const tally = this.topics.get(message.topic);
    if (!tally) return;
    tally.messages += 1;
    tally.rate.hit(now);
    tally.lastOffset = message.offset;
    tally.epoch = message.epoch;
  }

  onGap(gap: GapEvent, now: number): void {
    const tally = this.topics.get(gap.topic);
    if (tally) {
      tally.gaps += 1;
      // The row's position moves to where delivery resumed: after an epoch change, the
      // old epoch's last offset says nothing about the stream the topic now follows.
      tally.lastOffset = gap.resumedAt.offset;
      tally.epoch = gap.resumedAt.epoch;
    }
    const lost = gap.lost ? ` offsets ${gap.lost.fromOffset}-${gap.lost.toOffset} lost` : "";
    this.push({ at: now, kind: "gap", text: `gap on ${gap.topic}: ${gap.reason}${lost}` });
  }

  onError(error: LifelineError, now: number): void {
    const event: MonitorEvent = { at: now, kind: "error", text: `${error.code}: ${error.message}` };
    this.push(event);
    this.toast = event;
  }

  note(text: string, now: number): void {
    this.push({ at: now, kind: "info", text });
  }

  latestEvent(): MonitorEvent | undefined {
    return this.events.at(-1);
  }

  view(state: ClientState, figures: ClientFigures, now: number): MonitorView {
    const topics = [...this.topics].map(([topic, tally]) => ({
      topic,
      messages: tally.messages,
      perSecond: tally.rate.perSecond(now),
      gaps: tally.gaps,
      ...(tally.lastOffset === undefined ? {} : { lastOffset: tally.lastOffset }),
      ...(tally.epoch === undefined ? {} : { epoch: tally.epoch }),
    }));
    const toast = this.toast && now - this.toast.at < TOAST_MS ? this.toast : undefined;
    return {
      url: this.url,
      now,
      state,
      figures,
      topics,
      events: this.events,
      paused: this.paused,
      ...(toast ? { toast } : {}),
    };
  }

  private push(event: MonitorEvent): void {
    this.events.push(event);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }
}
