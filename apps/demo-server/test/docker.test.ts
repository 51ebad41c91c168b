import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const read = (path: string): string => readFileSync(`${root}${path}`, "utf8");

interface ComposeService {
  build?: { context?: string; dockerfile?: string; target?: string };
  environment?: Record<string, string>;
  healthcheck?: {
    test?: string[];
    interval?: string;
    timeout?: string;
    retries?: number;
    start_period?: string;
  };
  deploy?: {
    resources?: {
      limits?: { cpus?: string; memory?: string };
      reservations?: { cpus?: string; memory?: string };
    };
  };
}

/** Instructions of one stage of the Dockerfile, by stage name. */
function stage(dockerfile: string, name: string): string[] {
  const lines = dockerfile
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const start = lines.findIndex((line) =>
    new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${name}$`, "i").test(line),
  );
  if (start === -1) return [];
  const end = lines.findIndex((line, i) => i > start && /^FROM\s/i.test(line));
  return lines.slice(start, end === -1 ? undefined : end);
}

/** Docker cannot run here: these check what `docker compose up` would rely on. */
describe("docker-compose.yml and Dockerfile", () => {
  const compose = parse(read("docker-compose.yml")) as { services: Record<string, ComposeService> };
  const service = compose.services["demo-server"];
  const dockerfile = read("Dockerfile");
  const production = stage(dockerfile, "production");

  it("builds the production target of the root Dockerfile", () => {
    expect(service?.build).toEqual({
      context: ".",
      dockerfile: "Dockerfile",
      target: "production",
    });
    expect(production.length).toBeGreaterThan(0);
  });

  it("runs the production stage as a non-root user", () => {
    const user = production.filter((line) => /^USER\s/i.test(line)).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|$)/i);
  });

  it("health-checks as the README says: every 30 s, 10 s timeout, 3 retries, 40 s start period", () => {
    expect(service?.healthcheck).toMatchObject({
      interval: "30s",
      timeout: "10s",
      retries: 3,
      start_period: "40s",
    });
    const inImage = production.find((line) => /^HEALTHCHECK\s/i.test(line));
    expect(inImage).toContain("--interval=30s --timeout=10s --start-period=40s --retries=3");
  });

  it("health-checks with the healthcheck script, which the image contains", () => {
    const test = service?.healthcheck?.test ?? [];
    expect(test.slice(0, 2)).toEqual(["CMD", "node"]);
    const script = test[2] ?? "";
    const workdir = production.find((line) => /^WORKDIR\s/i.test(line))?.split(/\s+/)[1];
    expect(workdir).toBe("/app/demo-server");
    // The image holds the deployed package at WORKDIR; dist/x.js is built from src/x.ts.
    expect(production).toContain("COPY --from=build /out/demo-server /app/demo-server");
    expect(script).toMatch(/^dist\/[\w-]+\.js$/);
    const source = script.replace(/^dist\//, "apps/demo-server/src/").replace(/\.js$/, ".ts");
    expect(existsSync(`${root}${source}`)).toBe(true);
    const pkg = JSON.parse(read("apps/demo-server/package.json")) as {
      scripts: Record<string, string>;
      files: string[];
    };
    expect(pkg.scripts.healthcheck).toBe(`node ${script}`);
    expect(pkg.files).toContain("dist");
    const tsconfig = JSON.parse(read("apps/demo-server/tsconfig.build.json")) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: "src", outDir: "dist" });
    // The same command in the Dockerfile's own HEALTHCHECK.
    expect(production.find((line) => /^HEALTHCHECK\s/i.test(line))).toContain(
      `CMD ["node", "${script}"]`,
    );
  });

  it("limits and reserves CPU and memory", () => {
    const resources = service?.deploy?.resources;
    expect(Number(resources?.limits?.cpus)).toBeGreaterThan(0);
    expect(resources?.limits?.memory).toMatch(/^\d+[MG]$/);
    expect(Number(resources?.reservations?.cpus)).toBeGreaterThan(0);
    expect(resources?.reservations?.memory).toMatch(/^\d+[MG]$/);
    expect(Number(resources?.reservations?.cpus)).toBeLessThanOrEqual(
      Number(resources?.limits?.cpus),
    );
  });

  it("configures the server only through variables it understands", () => {
    const known = [
      "PORT",
      "HOST",
      "LOG_LEVEL",
      "LOG_FORMAT",
      "WS_HEARTBEAT_INTERVAL_MS",
      "WS_HEARTBEAT_TIMEOUT_MS",
      "WS_MAX_CONNECTIONS",
      "WS_ALLOWED_ORIGINS",
      "REDIS_URL",
      "WS_PUBLIC_URLS",
      "NODE_ID",
      "DEMO_WEB_DIR",
    ];
    for (const name of Object.keys(service?.environment ?? {})) expect(known).toContain(name);
    const source = read("apps/demo-server/src/config.ts");
    for (const name of known) expect(source).toContain(name);
  });

  it("keeps host builds and node_modules out of the build context", () => {
    const ignored = read(".dockerignore").split("\n");
    expect(ignored).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", ".git"]));
  });
});
