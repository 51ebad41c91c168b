// A Lifeline server in its own process, so a test can SIGKILL it and start it again on the
// same port. Configured by its first argument (JSON, see ChildServerConfig in
// processes.ts); prints one `LIFELINE_READY {...}` line when listening.
// It also answers GET /__chaos/loop (event-loop delay since the last reset) and
// GET /__chaos/memory (heap after a full GC when run with --expose-gc).
import { createServer as createHttpServer } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createRedisBroker, type RedisBrokerOptions } from "@lifeline/redis";
import { createServer, type ServerOptions } from "@lifeline/server";
import type { ChildServerConfig } from "./processes.js";

const config = JSON.parse(process.argv[2] ?? "{}") as ChildServerConfig;
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();

const broker =
  config.redisUrl === undefined && config.broker === undefined
    ? undefined
    : createRedisBroker({
        ...(config.redisUrl === undefined ? {} : { url: config.redisUrl }),
        keyPrefix: config.keyPrefix ?? "chaos:",
        ...(config.broker as RedisBrokerOptions | undefined),
      });
if (broker) await broker.ready();

const printEvent = (event: Record<string, unknown>) =>
  process.stdout.write(`LIFELINE_EVENT ${JSON.stringify(event)}\n`);
broker?.onHealthChange((health) =>
  printEvent({ type: "broker_health", ...health, at: Date.now() }),
);

const http = createHttpServer({ headersTimeout: 10_000 });
// Options come as JSON, which cannot carry a hook: the suites publish from clients, which a
// server refuses unless allowed, so every topic is open here.
const options: ServerOptions = {
  authorize: () => true,
  ...(config.options as ServerOptions),
  // JSON cannot carry the presence option's topic filter: presence, when asked for, is on
  // every topic.
  ...(config.presence ? { presence: { topics: () => true, ...config.presence } } : {}),
  server: http,
  ...(broker ? { broker } : {}),
  logger: config.logLevel === undefined ? false : { level: config.logLevel },
};
const server = await createServer(options);

// Disconnects as stdout lines, so a test in another process can wait for them.
server.on("disconnect", (connection, close) => {
  printEvent({
    type: "disconnect",
    client_id: connection.clientId,
    code: close.code,
    at: Date.now(),
  });
});

const ms = (ns: number) => Math.round(ns / 1e4) / 100;
http.on("request", (request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (url.pathname === "/__chaos/loop") {
    const body = {
      p50_ms: ms(loop.percentile(50)),
      p99_ms: ms(loop.percentile(99)),
      max_ms: ms(loop.max),
      connections: server.stats().connections.active,
    };
    if (url.searchParams.has("reset")) loop.reset();
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    return;
  }
  if (url.pathname === "/__chaos/memory") {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const memory = process.memoryUsage();
    const body = {
      heap_used: memory.heapUsed,
      rss: memory.rss,
      external: memory.external,
      array_buffers: memory.arrayBuffers,
      gc: gc !== undefined,
      connections: server.stats().connections.active,
      subscriptions: server.stats().topics.subscriptions,
    };
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    return;
  }
  if (!server.handleHttp(request, response)) response.writeHead(404).end();
});

// The test holds our stdin open: when its process dies, so does this server (no orphans).
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();

// SIGTERM is a graceful restart: `shutdown` with reconnect_after_ms, 1012, drain, exit.
process.once("SIGTERM", () => {
  void (async () => {
    await server.close({
      reason: "deploy",
      reconnectAfterMs: 300,
      spreadMs: 700,
      drainTimeoutMs: 3000,
    });
    await broker?.close();
    process.exit(0);
  })();
});

await new Promise<void>((resolve, reject) => {
  http.once("error", reject);
  http.listen(config.port, config.host, () => resolve());
});
const address = http.address();
const port = typeof address === "object" && address !== null ? address.port : 0;
process.stdout.write(`LIFELINE_READY ${JSON.stringify({ port, pid: process.pid })}\n`);
