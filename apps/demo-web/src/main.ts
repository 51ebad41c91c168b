import { createClient, createDeltaStates } from "@lifeline/client";
import "./style.css";
import { createCommandLog } from "./commands.js";
import { mountConnectionIndicator } from "./connection-indicator.js";
import { mountDiagnosticsPanel } from "./diagnostics-panel.js";
import { byId } from "./dom.js";
import { mountNotesPanel } from "./notes-panel.js";
import { mountSignIn, type SignIn } from "./sign-in.js";
import { createTelescopeCard, type TelescopeCard } from "./telescope-card.js";
import { mountTicksPanel } from "./ticks-panel.js";
import { createToasts } from "./toasts.js";
import {
  type Direction,
  type ObservatorySpec,
  type PageConfig,
  statusTopic,
  type TelescopeInfo,
  type TelescopeState,
} from "./types.js";
import { mountWireSwitch, readWireChoice, transportsOf } from "./wire-choice.js";

const params = new URLSearchParams(location.search);

/** `/demo-config.json` says whether to use a cluster's URLs; without it, this origin. */
async function loadPageConfig(): Promise<PageConfig | undefined> {
  try {
    const response = await fetch("/demo-config.json", { signal: AbortSignal.timeout(3000) });
    return response.ok ? ((await response.json()) as PageConfig) : undefined;
  } catch {
    return undefined;
  }
}

function websocketUrls(config: PageConfig | undefined): string | string[] {
  const override = params.get("ws");
  if (override) return override.split(",");
  if (config?.wsUrls && config.wsUrls.length > 0) {
    // The client tries the list in order and moves on when a node fails; starting each
    // page at a random node spreads pages over the cluster.
    const start = Math.floor(Math.random() * config.wsUrls.length);
    return [...config.wsUrls.slice(start), ...config.wsUrls.slice(0, start)];
  }
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}

async function start(): Promise<void> {
  const config = await loadPageConfig();
  const url = websocketUrls(config);
  byId("node-info").textContent = config
    ? `page from ${config.nodeId} · broker: ${config.broker}${config.broker === "redis" ? ` (${config.producer ? "this node produces" : "another node produces"})` : ""}${Array.isArray(url) ? ` · ${url.length} nodes` : ""}`
    : "";

  // `?transport=` and `?codec=`, set by the top bar's switch.
  const wires = readWireChoice(params);
  // Signing in or out changes whose connection it is: only a new connection may.
  let signIn: SignIn | undefined;
  // Typed by the server's contract without bundling it: the server validates.
  const client = createClient<ObservatorySpec>({
    url,
    role: "frontend",
    logLevel: "warn",
    // WebSocket, falling back to SSE where a proxy blocks it (and back when it works);
    // or one of them forced by the switch.
    transports: transportsOf(wires.transport),
    codec: wires.codec,
    // Asked at every connect and, before the token expires, for an in-band refresh.
    token: (context) => signIn?.token(context),
    // A wall dashboard keeps trying (the default gives up after 10 attempts); it only
    // stops on a fatal close. Full jitter spreads many tabs after a server restart.
    backoff: {
      kind: "exponential",
      baseMs: 500,
      factor: 2,
      capMs: 10_000,
      maxAttempts: Number.POSITIVE_INFINITY,
      jitter: "full",
    },
    // The ticks panel resumes after a reload from the position kept in sessionStorage.
    positions: true,
  });
  signIn = mountSignIn(byId("sign-in"), () => client.reconnect());
  const toasts = createToasts(byId("toasts"));
  mountConnectionIndicator(byId("connection"), client, toasts);
  mountWireSwitch(byId("wire-switch"), client, wires);
  const commands = createCommandLog(byId("commands"), client);
  mountNotesPanel(byId("notes"), client, commands);
  const ticks = mountTicksPanel(byId("ticks"), {
    storage: sessionStorage,
    key: `demo.ticks.${client.clientId}`,
  });
  const diagnostics = mountDiagnosticsPanel(byId("diagnostics"), client, config);
  if (params.get("wsDebug") === "1") diagnostics.toggle();
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey && event.shiftKey && event.key.toLowerCase() === "w") {
      event.preventDefault();
      diagnostics.toggle();
    }
  });
  byId("diagnostics-toggle").addEventListener("click", () => diagnostics.toggle());

  // The page keeps working while disconnected: it says so, and commands wait in the outbox.
  const banner = byId("offline-banner");
  const renderBanner = (): void => {
    const state = client.connection.getSnapshot().state;
    const offline = state === "reconnecting" || state === "connecting" || state === "failed";
    const hadOpened = client.stats().successfulConnections > 0;
    banner.hidden = !offline || (state === "connecting" && !hadOpened);
    const queued = commands.queued();
    banner.textContent =
      state === "failed"
        ? "Disconnected for good (see the diagnostics panel). Commands are not sent."
        : `Offline: showing the last known values.${queued > 0 ? ` ${queued} command${queued === 1 ? "" : "s"} queued,` : " Commands you send are queued and"} sent when the connection is back.`;
  };
  client.connection.subscribe(renderBanner);
  commands.onQueuedChange(renderBanner);

  const cards = new Map<string, TelescopeCard>();
  const container = byId("telescopes");
  const ensureCard = (info: TelescopeInfo): TelescopeCard => {
    const existing = cards.get(info.id);
    if (existing !== undefined) return existing;
    const card = createTelescopeCard(info, {
      move: (direction: Direction, durationMs: number) =>
        void commands.run(`${info.id} ${direction} ${durationMs} ms`, () =>
          client.request(
            "telescope.move",
            { telescope_id: info.id, direction, duration_ms: durationMs },
            { timeoutMs: durationMs + 10_000 },
          ),
        ),
      setGain: (gain: number) =>
        void commands.run(`${info.id} gain ${gain}`, () =>
          client.request(
            "telescope.set_gain",
            { telescope_id: info.id, gain },
            { timeoutMs: 5000 },
          ),
        ),
    });
    cards.set(info.id, card);
    byId("telescopes-empty").hidden = true;
    container.append(card.element);
    // Status arrives as deltas (PROTOCOL.md, "Deltas"); the topic is conflated, so `rewind`
    // starts the card with the whole latest state, and a resume after lost history gets it
    // again. After a gap the card keeps its values until the next full state.
    const status = createDeltaStates<TelescopeState>();
    client.subscribe(
      statusTopic(info.id),
      (data) => {
        const update = status.apply(data);
        if (update !== undefined) card.show(update.state);
      },
      {
        rewind: 1,
        onGap: () => status.reset(),
        presence: true,
        onPresence: (event) => card.setWatchers(event.members),
      },
    );
    return card;
  };

  // The list comes with `rewind: 1` (the topic keeps its latest message): cards appear at
  // once; a telescope discovered or lost later is announced.
  client.subscribe(
    "telescopes",
    (event, meta) => {
      for (const info of event.telescopes) ensureCard(info).setOnline(info.online);
      if (event.event === "listed" || event.telescope_id === undefined || meta.conflated) return;
      toasts.show(`${event.telescope_id} ${event.event}`, event.event === "lost" ? "warn" : "ok");
    },
    { rewind: 1 },
  );
  client.subscribe("demo/ticks", (tick) => ticks.observe(tick.n), {
    from: "stored",
    onGap: () => ticks.historyLost(),
  });

  // Failures not tied to a command (a refused subscription, an invalid server message).
  client.on("error", (error) => toasts.show(`${error.code}: ${error.message}`, "error"));

  Object.assign(window, { lifelineDemo: { client, ticks: ticks.counter } });
}

void start();
