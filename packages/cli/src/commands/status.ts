import { parseCount } from "../args.js";
import { type Command, DEFAULT_TIMEOUT_MS } from "../command.js";
import { createCliClient, deadline, timeoutError, watchConnection, whenOpen } from "../connect.js";
import { CliError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { healthUrl, toSocketUrl } from "../url.js";

/**
 * `lifeline status <url>`: the hello as the client saw it, then `GET /health`. Exit 0 only
 * when the WebSocket opened and `/health` answered 200 with status "ok".
 */
export const status: Command = async ({ common, positionals, values, output }) => {
  const url = toSocketUrl(positionals[0] ?? "");
  const timeoutMs = parseCount("timeout", values.timeout, 1) ?? DEFAULT_TIMEOUT_MS;
  const startedAt = Date.now();
  const client = createCliClient(url, common);
  const watch = watchConnection(client, output);
  const limit = deadline(timeoutMs, () => timeoutError(url, timeoutMs, watch));
  try {
    await Promise.race([whenOpen(client), watch.failed, limit.promise]);
    const stats = client.stats();
    output.data(`url         ${url}`);
    output.data(`client id   ${stats.clientId}`);
    output.data(`connection  ${stats.connectionId ?? "?"}`);
    output.data(`transport   ${stats.transport ?? "?"}, codec ${stats.codec ?? "?"}`);
    output.data(`features    ${stats.serverFeatures.join(", ") || "(none)"}`);
    output.data(`heartbeat   every ${stats.heartbeatIntervalMs ?? "?"} ms`);
    const health = healthUrl(url);
    const remainingMs = Math.max(1, timeoutMs - (Date.now() - startedAt));
    let response: Response;
    try {
      response = await fetch(health, {
        headers: common.headers,
        signal: AbortSignal.timeout(remainingMs),
      });
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new CliError(ExitCode.Failed, `GET ${health} failed: ${detail}`, { cause: error });
    }
    const text = await response.text();
    let report: unknown;
    try {
      report = JSON.parse(text);
    } catch {
      report = text;
    }
    const reported =
      typeof report === "object" && report !== null && "status" in report
        ? String(report.status)
        : "unknown";
    output.data(`health      ${reported} (HTTP ${response.status}) ${JSON.stringify(report)}`);
    if (response.status === 200 && reported === "ok") return ExitCode.Ok;
    output.error(`${health} reports "${reported}" (HTTP ${response.status})`);
    return ExitCode.Failed;
  } finally {
    limit.cancel();
    watch.stop();
    client.close();
  }
};
