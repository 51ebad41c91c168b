import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ClientOptions,
  createClient,
  type LifelineClient,
  type WebSocketConstructor,
} from "@lifeline/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type DemoServer, startDemoServer } from "../src/app.js";
import { createDemoMemoryBroker } from "../src/broker.js";
import { parseConfig } from "../src/config.js";
import { NOTES_TOPIC, TICKS_TOPIC } from "../src/contract.js";
import { checkHealth } from "../src/healthcheck.js";

interface HttpAnswer {
  status: number;
  type: string | undefined;
  csp: string | undefined;
  body: string;
}

function get(port: number, path: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    // A raw path, so traversal attempts reach the server unnormalised.
    const req = httpRequest({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers["content-type"],
          csp: res.headers["content-security-policy"] as string | undefined,
          body,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

/** Resolves with the first value `next` produces; bounded by vitest's test timeout. */
function waitFor<T>(subscribe: (done: (value: T) => void) => () => void): Promise<T> {
  return new Promise((resolve) => {
    const stop = subscribe((value) => {
      stop();
      resolve(value);
    });
  });
}

describe("demo server", () => {
  let webDir: string;
  let broker: ReturnType<typeof createDemoMemoryBroker>;
  let demo: DemoServer;
  const clients: LifelineClient[] = [];

  const connect = (options: Partial<ClientOptions> = {}): LifelineClient => {
    const client = createClient({
      url: `ws://127.0.0.1:${demo.port}/ws`,
      role: "test",
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      logLevel: "error",
      ...options,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    webDir = await mkdtemp(join(tmpdir(), "demo-web-"));
    await mkdir(join(webDir, "assets"));
    await writeFile(join(webDir, "index.html"), "<!doctype html><title>dashboard</title>");
    await writeFile(join(webDir, "assets", "app-1234.js"), "console.log(1);");
    broker = createDemoMemoryBroker();
    demo = await startDemoServer({
      config: parseConfig({ PORT: "0", LOG_LEVEL: "silent", DEMO_WEB_DIR: webDir, NODE_ID: "t1" }),
      broker,
    });
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    await demo?.close();
    await broker?.close();
    await rm(webDir, { recursive: true, force: true });
  });

  it("serves the page, its assets and a client-side route fallback on the same port", async () => {
    const index = await get(demo.port, "/");
    expect(index).toMatchObject({ status: 200, type: "text/html; charset=utf-8" });
    expect(index.body).toContain("dashboard");
    expect(index.csp).toContain("connect-src 'self' ws: wss: http: https:;");
    expect((await get(demo.port, "/assets/app-1234.js")).type).toBe(
      "text/javascript; charset=utf-8",
    );
    expect((await get(demo.port, "/telescopes/seestar-001")).body).toContain("dashboard");
    expect((await get(demo.port, "/assets/missing.js")).status).toBe(404);
  });

  it("never serves files outside the page's directory", async () => {
    for (const path of [
      "/../package.json",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/assets/..%2f..%2fx.js",
    ]) {
      const answer = await get(demo.port, path);
      expect(answer.body).not.toContain("root:");
      expect(answer.body).not.toContain("@lifeline");
    }
  });

  it("serves /health, /api/websocket/status, /metrics and /demo-config.json", async () => {
    const health = await get(demo.port, "/health");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok" });
    expect((await get(demo.port, "/api/websocket/status")).status).toBe(200);
    expect((await get(demo.port, "/metrics")).body).toContain("lifeline_connections");
    expect(JSON.parse((await get(demo.port, "/demo-config.json")).body)).toEqual({
      nodeId: "t1",
      redis: null,
      broker: "external",
      producer: true,
      wsUrls: null,
    });
  });

  it("passes the healthcheck (WebSocket handshake up to hello)", async () => {
    const result = await checkHealth(`ws://127.0.0.1:${demo.port}/ws`, 5000);
    expect(result.ok).toBe(true);
  });

  it.each([
    { transports: ["sse"], codec: "json", transport: "sse", agreed: "json" },
    { transports: ["websocket"], codec: "msgpack", transport: "websocket", agreed: "msgpack" },
  ] as const)(
    "serves the page's $transport wire asked with $codec: a note published is read back, ticks arrive",
    async ({ transports, codec, transport, agreed }) => {
      const client = connect({ transports, codec });
      const text = `over ${transport} in ${codec}`;
      await client.publish(NOTES_TOPIC, { text });
      const note = await waitFor<unknown>((done) =>
        client.subscribe(NOTES_TOPIC, done, { rewind: 1 }),
      );
      expect(note).toEqual({ text });
      await waitFor<unknown>((done) => client.subscribe(TICKS_TOPIC, done));
      expect(client.stats()).toMatchObject({ transport, codec: agreed });
      expect(client.stats().serverFeatures).toEqual(expect.arrayContaining(["sse", "msgpack"]));
    },
  );

  it("fails the healthcheck in bounded time when the server accepts but never says hello", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const result = await checkHealth(`ws://127.0.0.1:${port}/ws`, 300);
      expect(result).toEqual({ ok: false, detail: "no hello within 300 ms" });
    } finally {
      silent.close();
    }
  });

  it("answers the observatory's methods and refuses invalid params with a stable code", async () => {
    const client = connect();
    expect(await client.request("echo", { a: [1, "b"] })).toEqual({ a: [1, "b"] });
    const time = (await client.request("time")) as { epoch_ms: number; server_time: string };
    expect(new Date(time.server_time).getTime()).toBe(time.epoch_ms);
    expect(await client.request("node.info")).toEqual({
      node_id: "t1",
      broker: "external",
      producer: true,
      redis: null,
    });
    expect(
      await client.request("telescope.set_gain", { telescope_id: "seestar-002", gain: 150 }),
    ).toEqual({ telescope_id: "seestar-002", gain: 150 });
    await expect(
      client.request("telescope.set_gain", { telescope_id: "seestar-002", gain: 9000 }),
    ).rejects.toMatchObject({ code: "invalid_message" });
    await expect(
      client.request("telescope.move", {
        telescope_id: "hubble",
        direction: "up",
        duration_ms: 10,
      }),
    ).rejects.toMatchObject({ code: "not_found" });
    const moved = await client.request("telescope.move", {
      telescope_id: "seestar-001",
      direction: "right",
      duration_ms: 200,
    });
    expect(moved).toMatchObject({ telescope_id: "seestar-001", direction: "right" });
    await expect(client.request("telescope.list")).rejects.toMatchObject({
      code: "unknown_method",
    });
    // The gain shows in the status: its first message once subscribed carries every field.
    const status = await waitFor<{ full: { gain: number } }>((done) =>
      client.subscribe("telescope/seestar-002/status", (data: unknown) =>
        done(data as { full: { gain: number } }),
      ),
    );
    expect(status.full.gain).toBe(150);
  });

  it("produces ticks only while someone subscribes, continuing n where it stopped", async () => {
    const client = connect();
    const seen: number[] = [];
    let stop: (() => void) | undefined;
    await waitFor<void>((done) => {
      stop = client.subscribe(TICKS_TOPIC, (data: unknown) => {
        seen.push((data as { n: number }).n);
        if (seen.length === 5) done();
      });
      return () => {};
    });
    stop?.();
    for (let i = 1; i < seen.length; i += 1) expect(seen[i]).toBe((seen[i - 1] ?? 0) + 1);

    // Idle: once the topic loses its last subscriber, nothing more is produced; the next
    // subscriber gets the tick after the last one in the log.
    await waitFor<void>((done) =>
      demo.lifeline.on("topicIdle", (topic) => {
        if (topic === TICKS_TOPIC) done();
      }),
    );
    const head = await broker.head(TICKS_TOPIC);
    const last = (await broker.readSince(TICKS_TOPIC, head.offset - 1, head.epoch)).entries.at(-1);
    const lastN = (last?.data as { n: number } | undefined)?.n ?? 0;
    expect(lastN).toBeGreaterThanOrEqual(seen.at(-1) ?? 0);
    const again = connect();
    const next = await waitFor<number>((done) =>
      again.subscribe(TICKS_TOPIC, (data: unknown) => done((data as { n: number }).n)),
    );
    expect(next).toBe(lastN + 1);
  });

  it("publishes telescope status while subscribed as deltas: the whole state first", async () => {
    const client = connect();
    const first = await waitFor<Record<string, unknown>>((done) =>
      client.subscribe("telescope/seestar-002/status", (data: unknown) =>
        done(data as Record<string, unknown>),
      ),
    );
    expect(first).toMatchObject({ key: "seestar-002", full: { gain: expect.any(Number) } });
    expect(Object.keys(first.full as object).sort()).toEqual([
      "battery",
      "dec_deg",
      "gain",
      "ra_deg",
      "temperature_c",
      "tracking",
    ]);
  });

  it("gives a page that subscribes with rewind the whole latest status and list at once", async () => {
    const watcher = connect();
    await waitFor<unknown>((done) =>
      watcher.subscribe("telescope/seestar-001/status", (data: unknown) => done(data)),
    );
    await waitFor<unknown>((done) =>
      watcher.subscribe("telescopes", (data: unknown) => done(data)),
    );
    const page = connect();
    const status = await waitFor<{ data: unknown; conflated: boolean | undefined }>((done) =>
      page.subscribe(
        "telescope/seestar-001/status",
        (data: unknown, meta: { conflated?: true }) => done({ data, conflated: meta.conflated }),
        { rewind: 1 },
      ),
    );
    expect(status).toMatchObject({ conflated: true, data: { key: "seestar-001", full: {} } });
    const list = await waitFor<unknown>((done) =>
      page.subscribe("telescopes", (data: unknown) => done(data), { rewind: 1 }),
    );
    expect(list).toMatchObject({ event: "listed", telescopes: [{ id: "seestar-001" }, {}] });
  });
});
