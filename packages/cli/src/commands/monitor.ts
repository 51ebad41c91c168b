import type { ClientStats, LifelineClient } from "@lifeline/client";
import type { Command } from "../command.js";
import { createCliClient } from "../connect.js";
import { ExitCode } from "../exit-codes.js";
import { type ClientFigures, type MonitorEvent, MonitorModel } from "../monitor/model.js";
import { render } from "../monitor/render.js";
import { openScreen } from "../monitor/screen.js";
import { createThrottle } from "../monitor/throttle.js";
import type { Output } from "../output.js";
import { toSocketUrl } from "../url.js";

/** At most 10 frames a second, however many messages arrive. */
const MIN_FRAME_INTERVAL_MS = 100;
/** The countdown and the rates move without events: ask for a frame this often. */
const TICK_MS = 250;
/** How often the monitor measures a round trip (one protocol `ping`). */
const ROUND_TRIP_EVERY_MS = 1000;

function figures(stats: ClientStats): ClientFigures {
  return {
    clientId: stats.clientId,
    uptimeMs: stats.uptimeMs,
    duplicatesDropped: stats.duplicatesDropped,
    gaps: stats.gaps,
    queueSize: stats.queueSize,
    ...(stats.roundTripMs === undefined ? {} : { roundTripMs: stats.roundTripMs }),
    ...(stats.connectionId === undefined ? {} : { connectionId: stats.connectionId }),
    ...(stats.heartbeatIntervalMs === undefined
      ? {}
      : { heartbeatIntervalMs: stats.heartbeatIntervalMs }),
    ...(stats.transport === undefined ? {} : { transport: stats.transport }),
    ...(stats.codec === undefined ? {} : { codec: stats.codec }),
  };
}

/** Feeds the model from the client; returns the undo of every listener and subscription. */
function follow(
  client: LifelineClient,
  model: MonitorModel,
  topics: readonly string[],
  changed: (event?: MonitorEvent) => void,
): () => void {
  const last = () => model.latestEvent();
  const undo = [
    client.on("state", (change) => {
      model.onState(change, Date.now());
      changed(last());
    }),
    client.on("gap", (gap) => {
      model.onGap(gap, Date.now());
      changed(last());
    }),
    client.on("error", (error) => {
      model.onError(error, Date.now());
      changed(last());
    }),
    client.on("message", (message) => {
      model.onMessage(message, Date.now());
      changed();
    }),
    // The model counts through the `message` event; the handler has nothing left to do.
    ...topics.map((topic) => client.subscribe(topic, () => {})),
  ];
  return () => {
    for (const stop of undo) stop();
  };
}

/** Without a terminal (piped, redirected, CI), every event becomes a line on stdout. */
async function lineMode(
  client: LifelineClient,
  model: MonitorModel,
  topics: readonly string[],
  output: Output,
  interrupted: AbortSignal,
): Promise<ExitCode> {
  const stop = follow(client, model, topics, (event) => {
    if (event) output.data(`${new Date(event.at).toISOString()} ${event.kind} ${event.text}`);
  });
  try {
    await new Promise((resolve) => interrupted.addEventListener("abort", resolve, { once: true }));
    return ExitCode.Interrupted;
  } finally {
    stop();
  }
}

/**
 * `lifeline monitor <url> [topic...]`: a full-screen view of one connection, redrawn at
 * most 10 times a second and on every resize. Keys: q quit, r reconnect now, p pause.
 */
export const monitor: Command = async ({ common, positionals, output, interrupted }) => {
  const [rawUrl = "", ...topics] = positionals;
  const url = toSocketUrl(rawUrl);
  const client = createCliClient(url, common);
  const model = new MonitorModel(url, topics, Date.now());
  try {
    if (!process.stdout.isTTY || !process.stdin.isTTY) {
      return await lineMode(client, model, topics, output, interrupted);
    }
    const screen = openScreen(process.stdout, process.stdin);
    const frame = (force = false) => {
      if (model.paused && !force) return;
      const view = model.view(client.getSnapshot(), figures(client.stats()), Date.now());
      screen.draw(render(view, screen.columns, screen.rows));
    };
    const redraw = createThrottle(() => frame(), MIN_FRAME_INTERVAL_MS);
    const ticker = setInterval(() => redraw.request(), TICK_MS);
    // A refused or lost ping shows as the state line; the figure keeps its last value.
    const prober = setInterval(() => void client.ping().catch(() => {}), ROUND_TRIP_EVERY_MS);
    const stopFollowing = follow(client, model, topics, () => redraw.request());
    const stopResize = screen.onResize(() => frame(true));
    try {
      frame(true);
      return await new Promise<ExitCode>((resolve) => {
        interrupted.addEventListener("abort", () => resolve(ExitCode.Interrupted), { once: true });
        screen.onKey((key) => {
          switch (key) {
            case "q":
            case "Q":
              resolve(ExitCode.Ok);
              break;
            case "\u0003": // Ctrl-C in raw mode arrives as a key, not as SIGINT.
              resolve(ExitCode.Interrupted);
              break;
            case "r":
            case "R":
              model.note("reconnect asked from the keyboard", Date.now());
              client.reconnect();
              redraw.request();
              break;
            case "p":
            case "P":
              model.paused = !model.paused;
              frame(true);
              break;
            default:
              break;
          }
        });
      });
    } finally {
      clearInterval(ticker);
      clearInterval(prober);
      redraw.stop();
      stopFollowing();
      stopResize();
      screen.close();
    }
  } finally {
    client.close();
  }
};
