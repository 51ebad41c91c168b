import { afterEach, describe, expect, it } from "vitest";
import { startFleet } from "./support/fleet.js";
import { History } from "./support/history.js";
import { type ServerProcess, startServerProcess } from "./support/processes.js";

// docs/reliability.md, "Faults" (reconnect storm): 2,000 clients lose the server at once (SIGKILL) and come back
// with the client's default backoff (exponential, full jitter, 1 s base, 10 attempts).

const CLIENTS = 2000;
const TOPICS = 20;
/**
 * Twice the slowest measured on a 2-core machine shared with other test runs (all back in
 * 5.9-13.1 s, event-loop delay p99 73-226 ms); the measured figures are printed.
 */
const ALL_BACK_WITHIN_MS = 26_000;
const LOOP_DELAY_P99_BOUND_MS = 450;

const disposers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

describe("reconnect storm", () => {
  it(`brings ${CLIENTS} clients back after a SIGKILL with bounded server event-loop delay, refusing nobody for good`, async () => {
    const server: ServerProcess = await startServerProcess({
      options: { limits: { maxConnectionsPerIp: 100_000, maxConnections: 100_000 } },
    });
    disposers.push(() => server.dispose());
    const history = new History();
    const fleet = startFleet({
      url: server.url,
      count: CLIENTS,
      prefix: "storm",
      topicsOf: (i) => [`chaos/storm/${i % TOPICS}`],
      history,
    });
    disposers.push(() => fleet.close());
    const firstConnectStartedAt = Date.now();
    await fleet.whenAllLive(90_000);
    const firstConnectMs = Date.now() - firstConnectStartedAt;

    const killedAt = Date.now();
    await server.kill();
    await server.restart();
    const restartedMs = Date.now() - killedAt;
    await fleet.whenAllLive(ALL_BACK_WITHIN_MS + 30_000);
    const allBackMs = Date.now() - killedAt;
    const loop = await server.loopDelay();

    const failed = fleet.inState("failed").length;
    const attempts = fleet.members.map((m) => m.client.stats().attemptsTotal);
    const reconnectAttempts = attempts.reduce((n, a) => n + a, 0) - CLIENTS;
    console.info(
      [
        `[chaos] storm: clients=${CLIENTS} first_connect_ms=${firstConnectMs} restart_ms=${restartedMs}`,
        `all_back_ms=${allBackMs} reconnect_attempts=${reconnectAttempts} max_attempts_one_client=${Math.max(...attempts) - 1}`,
        `server_loop_delay_p50_ms=${loop.p50_ms} p99_ms=${loop.p99_ms} max_ms=${loop.max_ms} failed=${failed}`,
      ].join(" "),
    );
    expect(loop.connections).toBe(CLIENTS);
    expect(failed).toBe(0);
    expect(fleet.members.every((m) => m.opens === 2)).toBe(true);
    expect(allBackMs).toBeLessThanOrEqual(ALL_BACK_WITHIN_MS);
    expect(loop.p99_ms).toBeLessThanOrEqual(LOOP_DELAY_P99_BOUND_MS);
    // The memory broker lost its history with the process: each client was told so.
    expect(new Set(history.check().examples.map((e) => e.kind)).has("lost")).toBe(false);
  });
});
