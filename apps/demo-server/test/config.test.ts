import { describe, expect, it } from "vitest";
import { ConfigError, defaultWebDir, parseConfig } from "../src/config.js";

describe("parseConfig", () => {
  it("uses the documented defaults for an empty environment", () => {
    expect(parseConfig({})).toEqual({
      port: 8765,
      host: "127.0.0.1",
      heartbeatIntervalMs: 25_000,
      heartbeatTimeoutMs: 20_000,
      maxConnections: 10_000,
      allowedOrigins: undefined,
      logLevel: "info",
      logFormat: "auto",
      redisUrl: undefined,
      redisSentinel: undefined,
      redisClusterNodes: undefined,
      webDir: defaultWebDir,
      publicWsUrls: undefined,
      nodeId: undefined,
    });
    expect(defaultWebDir.replaceAll("\\", "/")).toMatch(/apps\/demo-web\/dist\/$/);
  });

  it("reads every variable", () => {
    const config = parseConfig({
      PORT: "9000",
      HOST: "0.0.0.0",
      WS_HEARTBEAT_INTERVAL_MS: "5000",
      WS_HEARTBEAT_TIMEOUT_MS: "3000",
      WS_MAX_CONNECTIONS: "50",
      WS_ALLOWED_ORIGINS: "http://localhost:8765, https://demo.example.com",
      LOG_LEVEL: "DEBUG",
      LOG_FORMAT: "json",
      REDIS_URL: "redis://127.0.0.1:6380",
      WS_PUBLIC_URLS: "ws://localhost:8765/ws,ws://localhost:8766/ws",
      NODE_ID: "a",
      DEMO_WEB_DIR: "/srv/web",
    });
    expect(config).toMatchObject({
      port: 9000,
      host: "0.0.0.0",
      heartbeatIntervalMs: 5000,
      heartbeatTimeoutMs: 3000,
      maxConnections: 50,
      allowedOrigins: ["http://localhost:8765", "https://demo.example.com"],
      logLevel: "debug",
      logFormat: "json",
      redisUrl: "redis://127.0.0.1:6380",
      publicWsUrls: ["ws://localhost:8765/ws", "ws://localhost:8766/ws"],
      nodeId: "a",
      webDir: "/srv/web",
    });
  });

  it("lists every invalid variable at once, saying what was expected and what came", () => {
    let error: unknown;
    try {
      parseConfig({
        PORT: "eighty",
        WS_HEARTBEAT_INTERVAL_MS: "10",
        WS_ALLOWED_ORIGINS: "localhost:3000",
        LOG_LEVEL: "loud",
        REDIS_URL: "http://redis",
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'PORT must be a whole number from 0 to 65535, got "eighty"',
      "WS_HEARTBEAT_INTERVAL_MS must be from 1000 to 3600000, got 10",
      'WS_ALLOWED_ORIGINS entries must be origins like "https://example.com" (scheme://host[:port], no path), got "localhost:3000"',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      'REDIS_URL must be a redis:// or rediss:// URL like "redis://127.0.0.1:6379", got "http://redis"',
    ]);
  });
});

describe("Redis deployments", () => {
  it("reads Sentinels with their master group, or a cluster's nodes", () => {
    expect(
      parseConfig({
        REDIS_SENTINELS: "10.0.0.1:26379, sentinel-b:26380",
        REDIS_SENTINEL_NAME: "main",
      }),
    ).toMatchObject({
      redisUrl: undefined,
      redisSentinel: {
        sentinels: [
          { host: "10.0.0.1", port: 26379 },
          { host: "sentinel-b", port: 26380 },
        ],
        name: "main",
      },
      redisClusterNodes: undefined,
    });
    expect(parseConfig({ REDIS_SENTINELS: "127.0.0.1:26379" }).redisSentinel?.name).toBe(
      "lifeline",
    );
    expect(parseConfig({ REDIS_CLUSTER_NODES: "127.0.0.1:7000,127.0.0.1:7001" })).toMatchObject({
      redisClusterNodes: [
        { host: "127.0.0.1", port: 7000 },
        { host: "127.0.0.1", port: 7001 },
      ],
      redisSentinel: undefined,
    });
  });

  it("refuses an address without a port, a port out of range, and two deployments at once", () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ REDIS_CLUSTER_NODES: "127.0.0.1,127.0.0.1:70000" })).toEqual([
      'REDIS_CLUSTER_NODES must list host:port addresses, got "127.0.0.1,127.0.0.1:70000"',
    ]);
    expect(
      problems({ REDIS_URL: "redis://127.0.0.1:6379", REDIS_CLUSTER_NODES: "127.0.0.1:7000" }),
    ).toEqual(["set at most one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES"]);
  });
});

describe("formatLine", () => {
  it("turns a pino JSON line into one readable line", async () => {
    const { formatLine } = await import("../src/log.js");
    const line = formatLine(
      JSON.stringify({
        level: 40,
        time: Date.UTC(2026, 0, 1, 12, 0, 1),
        pid: 1,
        hostname: "h",
        name: "demo-server",
        node: "node-1",
        msg: "publish failed",
        topic: "demo/ticks",
        err: { type: "Error", message: "redis_unavailable", stack: "..." },
      }),
    );
    expect(line).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}\[node-1\] publish failed {2}topic=demo\/ticks err="redis_unavailable"\n$/,
    );
    expect(formatLine("not json")).toBe("not json");
  });
});
