import { fileURLToPath } from "node:url";

/** pino's level names, plus "silent". */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Everything the demo server reads from its environment, parsed and checked once. */
export interface DemoConfig {
  /** `PORT`: one port for HTTP and WebSocket. 0 picks a free one. @default 8765 */
  readonly port: number;
  /** `HOST`: interface to listen on (`0.0.0.0` in the container). @default "127.0.0.1" */
  readonly host: string;
  /** `WS_HEARTBEAT_INTERVAL_MS`. @default 25000 */
  readonly heartbeatIntervalMs: number;
  /** `WS_HEARTBEAT_TIMEOUT_MS`. @default 20000 */
  readonly heartbeatTimeoutMs: number;
  /** `WS_MAX_CONNECTIONS`. @default 10000 */
  readonly maxConnections: number;
  /** `WS_ALLOWED_ORIGINS`, comma-separated; unset allows any origin. @default undefined */
  readonly allowedOrigins: readonly string[] | undefined;
  /** `LOG_LEVEL`. @default "info" */
  readonly logLevel: LogLevel;
  /** `LOG_FORMAT`: `json`, `pretty`, or `auto` (pretty when stdout is a terminal). @default "auto" */
  readonly logFormat: "json" | "pretty" | "auto";
  /** `REDIS_URL`: scale-out on Redis; unset keeps the in-memory broker. @default undefined */
  readonly redisUrl: string | undefined;
  /**
   * `REDIS_SENTINELS` (comma-separated `host:port` of the Sentinels) and
   * `REDIS_SENTINEL_NAME` (the master group, default "lifeline"): scale-out on Redis found
   * through Sentinel. @default undefined
   */
  readonly redisSentinel:
    | { readonly sentinels: readonly HostPort[]; readonly name: string }
    | undefined;
  /**
   * `REDIS_CLUSTER_NODES`, comma-separated `host:port` of some Redis Cluster nodes: scale-out
   * on a Redis Cluster. At most one of the three Redis variables may be set. @default undefined
   */
  readonly redisClusterNodes: readonly HostPort[] | undefined;
  /** `DEMO_WEB_DIR`: the built demo-web to serve at `/`. @default apps/demo-web/dist */
  readonly webDir: string;
  /**
   * `WS_PUBLIC_URLS`, comma-separated WebSocket URLs the page should use (a cluster's
   * nodes); unset means the page's own origin. @default undefined
   */
  readonly publicWsUrls: readonly string[] | undefined;
  /** `NODE_ID`: names this node in logs and `/demo-config.json`. @default "node-<port>" */
  readonly nodeId: string | undefined;
  /**
   * `LIFELINE_ADMIN_TOKEN`: lets a caller that sends `Authorization: Bearer <token>` read
   * `/api/websocket/status` from anywhere; at least 16 characters, so it cannot be guessed.
   * Unset, only loopback callers may read it. @default undefined
   */
  readonly adminToken: string | undefined;
}

/** Invalid configuration: `problems` lists every bad variable, one line each. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
  }
}

/**
 * The demo-web build, found relative to this package so it works from `src/` (tsx) and
 * from `dist/` alike: both are one level below apps/demo-server.
 */
export const defaultWebDir = fileURLToPath(new URL("../../demo-web/dist/", import.meta.url));

type Env = Readonly<Record<string, string | undefined>>;

/** A Redis node or Sentinel address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `host:port` with a port from 1 to 65535, or undefined. */
function hostPort(text: string): HostPort | undefined {
  const match = /^([^:\s]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  return match?.[1] !== undefined && port >= 1 && port <= 65535
    ? { host: match[1], port }
    : undefined;
}

/** Shortest accepted `LIFELINE_ADMIN_TOKEN`. */
export const MIN_ADMIN_TOKEN_CHARS = 16;

/**
 * Reads the configuration from `env`, collecting every problem before failing, so one run
 * shows everything that needs fixing.
 * @throws ConfigError when any variable is invalid
 */
export function parseConfig(env: Env): DemoConfig {
  const problems: string[] = [];

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === "") return fallback;
    if (!/^\d+$/.test(raw)) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    const value = Number(raw);
    if (value < min || value > max) {
      problems.push(`${name} must be from ${min} to ${max}, got ${value}`);
      return fallback;
    }
    return value;
  };

  const list = (name: string): string[] | undefined => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === "") return undefined;
    return raw
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
  };

  const port = int("PORT", 8765, 0, 65535);
  const heartbeatIntervalMs = int("WS_HEARTBEAT_INTERVAL_MS", 25_000, 1000, 3_600_000);
  const heartbeatTimeoutMs = int("WS_HEARTBEAT_TIMEOUT_MS", 20_000, 1000, 3_600_000);
  const maxConnections = int("WS_MAX_CONNECTIONS", 10_000, 1, 1_000_000);

  const allowedOrigins = list("WS_ALLOWED_ORIGINS");
  for (const origin of allowedOrigins ?? []) {
    if (!isOrigin(origin)) {
      problems.push(
        `WS_ALLOWED_ORIGINS entries must be origins like "https://example.com" (scheme://host[:port], no path), got "${origin}"`,
      );
    }
  }

  const rawLevel = (env.LOG_LEVEL?.trim() || "info").toLowerCase();
  const logLevel = LOG_LEVELS.find((level) => level === rawLevel);
  if (logLevel === undefined) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${env.LOG_LEVEL}"`);
  }

  const rawFormat = (env.LOG_FORMAT?.trim() || "auto").toLowerCase();
  const logFormat = (["json", "pretty", "auto"] as const).find((f) => f === rawFormat);
  if (logFormat === undefined) {
    problems.push(`LOG_FORMAT must be one of json, pretty, auto, got "${env.LOG_FORMAT}"`);
  }

  const redisUrl = env.REDIS_URL?.trim() || undefined;
  if (redisUrl !== undefined && !isUrl(redisUrl, ["redis:", "rediss:"])) {
    problems.push(
      `REDIS_URL must be a redis:// or rediss:// URL like "redis://127.0.0.1:6379", got "${redisUrl}"`,
    );
  }

  const addresses = (name: string): HostPort[] | undefined => {
    const items = list(name);
    if (items === undefined) return undefined;
    const parsed = items.map(hostPort);
    const bad = items.filter((_, i) => parsed[i] === undefined);
    if (bad.length > 0 || items.length === 0) {
      problems.push(`${name} must list host:port addresses, got "${env[name]}"`);
      return undefined;
    }
    return parsed as HostPort[];
  };
  const sentinels = addresses("REDIS_SENTINELS");
  const redisSentinel =
    sentinels === undefined
      ? undefined
      : { sentinels, name: env.REDIS_SENTINEL_NAME?.trim() || "lifeline" };
  const redisClusterNodes = addresses("REDIS_CLUSTER_NODES");
  const redisTargets = [redisUrl, env.REDIS_SENTINELS?.trim(), env.REDIS_CLUSTER_NODES?.trim()];
  if (redisTargets.filter((t) => t !== undefined && t !== "").length > 1) {
    problems.push("set at most one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES");
  }

  const publicWsUrls = list("WS_PUBLIC_URLS");
  for (const url of publicWsUrls ?? []) {
    if (!isUrl(url, ["ws:", "wss:"])) {
      problems.push(`WS_PUBLIC_URLS entries must be ws:// or wss:// URLs, got "${url}"`);
    }
  }

  const adminToken = env.LIFELINE_ADMIN_TOKEN?.trim() || undefined;
  if (adminToken !== undefined && adminToken.length < MIN_ADMIN_TOKEN_CHARS) {
    problems.push(
      `LIFELINE_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_CHARS} characters, got ${adminToken.length}`,
    );
  }

  const host = env.HOST?.trim() || "127.0.0.1";
  const nodeId = env.NODE_ID?.trim() || undefined;

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    maxConnections,
    allowedOrigins,
    logLevel: logLevel ?? "info",
    logFormat: logFormat ?? "auto",
    redisUrl,
    redisSentinel,
    redisClusterNodes,
    webDir: env.DEMO_WEB_DIR?.trim() || defaultWebDir,
    publicWsUrls,
    nodeId,
    adminToken,
  };
}

function isUrl(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value;
  } catch {
    return false;
  }
}
