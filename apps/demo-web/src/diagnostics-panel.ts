import type { ClientStats, LifelineClient } from "@lifeline/client";
import { adminActions } from "./admin-actions.js";
import { formatDuration, h } from "./dom.js";
import type { NodeInfo, ObservatorySpec, PageConfig } from "./types.js";
import { CODEC_LABEL, TRANSPORT_LABEL } from "./wire-choice.js";

export interface DiagnosticsPanel {
  toggle(): void;
  readonly open: boolean;
}

/**
 * What the client knows about its connection (`client.stats()`): state, uptime, the wire
 * (WebSocket or the SSE fallback, and the background probes of WebSocket while on SSE) and
 * the encoding, recent attempts with their wire and error classes, message counts by type, the server's features, the
 * outbox; which node served the page, which node the socket is on and the Redis master(s)
 * it uses (`node.info`, asked every 2 s while the panel is open, so a fail-over shows);
 * and buttons to connect, disconnect, reconnect and ping. Opened by `?wsDebug=1` or
 * Ctrl+Shift+W.
 */
export function mountDiagnosticsPanel(
  host: HTMLElement,
  client: LifelineClient<ObservatorySpec>,
  pageConfig: PageConfig | undefined,
): DiagnosticsPanel {
  const body = h("div", { class: "diag-body" });
  const pingResult = h("span", { class: "muted", attrs: { "data-testid": "diag-ping" } });
  const button = (text: string, testId: string, onClick: () => void): HTMLButtonElement =>
    h("button", { text, attrs: { type: "button", "data-testid": testId }, onClick });
  const ping = async (): Promise<void> => {
    pingResult.textContent = "…";
    const started = performance.now();
    try {
      await client.request("time", undefined, { timeoutMs: 5000 });
      pingResult.textContent = `round trip ${formatDuration(performance.now() - started)}`;
    } catch (error) {
      pingResult.textContent = `ping failed: ${(error as Error).message}`;
    }
  };
  host.replaceChildren(
    h(
      "header",
      {},
      h("h2", { text: "Connection diagnostics" }),
      button("Connect", "diag-connect", () => client.connect()),
      button("Disconnect", "diag-disconnect", () => client.close()),
      button("Reconnect", "diag-reconnect", () => client.reconnect()),
      button("Ping", "diag-ping-button", () => void ping()),
      pingResult,
      button("✕", "diag-close", () => panel.toggle()),
    ),
    // Outside the body, which is re-rendered twice a second.
    adminActions(),
    body,
  );

  let timer: ReturnType<typeof setInterval> | undefined;
  let node: NodeInfo | string | undefined;
  let renders = 0;
  const askNode = async (): Promise<void> => {
    try {
      node = await client.request("node.info", undefined, { timeoutMs: 3000 });
    } catch (error) {
      node = (error as Error).message;
    }
  };
  const render = (): void => {
    // Every fourth render (2 s): one small request, not one per repaint.
    if (renders++ % 4 === 0 && client.status === "open") void askNode().then(() => paint());
    paint();
  };
  const paint = (): void =>
    body.replaceChildren(...renderStats(client.stats(), pageConfig?.nodeId, node));
  const panel = {
    get open() {
      return !host.hidden;
    },
    toggle() {
      host.hidden = !host.hidden;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (!host.hidden) {
        renders = 0;
        render();
        timer = setInterval(render, 500);
      }
    },
  };
  return panel;
}

/**
 * `pageNode` served the page; `node` is what `node.info` last said (the node the socket is
 * on and its Redis master(s)), or why it could not be asked.
 */
function renderStats(
  stats: ClientStats,
  pageNode: string | undefined,
  node: NodeInfo | string | undefined,
): Node[] {
  const live = typeof node === "object" ? node : undefined;
  const row = (label: string, value: string, testId?: string): HTMLElement[] => [
    h("dt", { text: label }),
    h("dd", { text: value, attrs: testId === undefined ? {} : { "data-testid": testId } }),
  ];
  const summary = h(
    "dl",
    { class: "values" },
    ...row("State", stats.state, "diag-state"),
    ...row("Uptime", stats.uptimeMs > 0 ? formatDuration(stats.uptimeMs) : "—"),
    ...row("Client id", stats.clientId),
    ...row("Connection id", stats.connectionId ?? "—"),
    ...row("URL", stats.url ?? "—"),
    ...row(
      "Transport",
      stats.transport === undefined ? "—" : TRANSPORT_LABEL[stats.transport],
      "diag-transport",
    ),
    ...row("Codec", stats.codec === undefined ? "—" : CODEC_LABEL[stats.codec], "diag-codec"),
    ...row(
      "WebSocket probes",
      `${stats.probes.started} started, ${stats.probes.failed} failed`,
      "diag-probes",
    ),
    ...row(
      "Attempts",
      `${stats.attemptsTotal} total, ${stats.successfulConnections} opened, retry #${stats.attempt}`,
      "diag-attempts-total",
    ),
    ...row(
      "Outbox",
      `${stats.queueSize} queued, ${stats.pendingRequests} requests, ${stats.pendingPublishes} publishes pending`,
      "diag-queue",
    ),
    ...row(
      "Delivery",
      `${stats.duplicatesDropped} duplicates dropped, ${stats.gaps} gaps reported`,
    ),
    ...row(
      "Heartbeats",
      `${stats.heartbeats.received} received, ${stats.heartbeats.probesSent} probes sent${stats.heartbeatIntervalMs === undefined ? "" : `, every ${formatDuration(stats.heartbeatIntervalMs)}`}`,
    ),
    ...row(
      "Last frame",
      stats.lastActivityAt === undefined
        ? "—"
        : `${formatDuration(Date.now() - stats.lastActivityAt)} ago`,
    ),
    ...row("Server features", stats.serverFeatures.join(", ") || "—", "diag-features"),
    ...row("Page served by", pageNode ?? "—", "diag-page-node"),
    ...row("Connected node", live?.node_id ?? (typeof node === "string" ? node : "—"), "diag-node"),
    ...row(
      "Redis master",
      live?.redis ? `${live.redis.mode}: ${live.redis.masters.join(", ")}` : live ? "none" : "—",
      "diag-redis",
    ),
  );

  const attempts = h(
    "table",
    { class: "attempts", attrs: { "data-testid": "diag-attempts" } },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["started", "wire", "outcome", "error class", "code", "reason", "took"].map((t) =>
          h("th", { text: t }),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      ...[...stats.recentAttempts]
        .reverse()
        .map((a) =>
          h(
            "tr",
            { attrs: { "data-outcome": a.outcome } },
            h("td", { text: new Date(a.at).toLocaleTimeString() }),
            h("td", { text: a.transport === undefined ? "" : TRANSPORT_LABEL[a.transport] }),
            h("td", { text: a.outcome }),
            h("td", { text: a.errorClass ?? "" }),
            h("td", { text: a.code === undefined ? "" : String(a.code) }),
            h("td", { text: a.reason ?? "" }),
            h("td", { text: a.durationMs === undefined ? "" : formatDuration(a.durationMs) }),
          ),
        ),
    ),
  );

  const types = [...new Set([...Object.keys(stats.sent), ...Object.keys(stats.received)])].sort();
  const counts = h(
    "table",
    { class: "counts" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { text: "type" }),
        h("th", { text: "sent" }),
        h("th", { text: "received" }),
      ),
    ),
    h(
      "tbody",
      {},
      ...types.map((type) =>
        h(
          "tr",
          {},
          h("td", { text: type }),
          h("td", { text: String(stats.sent[type] ?? 0) }),
          h("td", { text: String(stats.received[type] ?? 0) }),
        ),
      ),
    ),
  );
  return [
    summary,
    h(
      "div",
      { class: "diag-tables" },
      h("section", {}, h("h3", { text: "Recent attempts" }), attempts),
      h("section", {}, h("h3", { text: "Messages by type" }), counts),
    ),
  ];
}
