import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir } from "node:fs/promises";
import {
  type Browser,
  freePort,
  launchChromium,
  type RedisServer,
  startRedisServer,
} from "@lifeline/test-support";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWeb, output, packageDir } from "./web.js";

interface Node {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
}

/** A demo-server process from sources (no build needed), as `pnpm demo:cluster` runs them. */
async function startNode(name: string, port: number, env: Record<string, string>): Promise<Node> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=@lifeline/source", "src/main.ts"],
    {
      cwd: packageDir("@lifeline/demo-server"),
      env: {
        PATH: process.env.PATH ?? "",
        PORT: String(port),
        NODE_ID: name,
        LOG_LEVEL: "warn",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const exited = once(child, "exit");
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (out.includes(`demo: http://127.0.0.1:${port}/`)) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    void exited.then(() => reject(new Error(`${name} exited: ${out}`)));
  });
  return { name, port, child, exited };
}

/**
 * Scale-out in the browser: two demo-server processes on a real redis-server, the page
 * given both URLs. The node the page is connected to is killed with SIGKILL; the page
 * moves to the other node and the ticks (whose producer may have been the killed node:
 * the lease moves too) continue with zero gaps and zero duplicates.
 */
describe("demo cluster in chromium", () => {
  let redis: RedisServer;
  const nodes: Node[] = [];
  let browser: Browser;
  let page: Page;

  const count = async (testId: string): Promise<number> =>
    Number(await page.getByTestId(testId).first().textContent());

  beforeAll(async () => {
    await mkdir(output, { recursive: true });
    const webDir = await buildWeb("web-cluster");
    redis = await startRedisServer();
    const ports = [await freePort(), await freePort()];
    const env = {
      REDIS_URL: redis.url,
      DEMO_WEB_DIR: webDir,
      WS_PUBLIC_URLS: ports.map((port) => `ws://127.0.0.1:${port}/ws`).join(","),
    };
    nodes.push(await startNode("node-a", ports[0] ?? 0, env));
    nodes.push(await startNode("node-b", ports[1] ?? 0, env));
    browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
    for (const node of nodes) {
      if (node.child.exitCode === null && node.child.signalCode === null) {
        node.child.kill("SIGTERM");
        await node.exited;
      }
    }
    await redis?.dispose();
  });

  it("fails over to the other node after SIGKILL with zero gaps and zero duplicates", async () => {
    await page.goto(`http://127.0.0.1:${nodes[0]?.port}/`);
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 30_000 });
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="ticks-received"]')?.textContent) >= 20,
      undefined,
      { timeout: 20_000 },
    );
    const connectedUrl = await page.evaluate(
      () =>
        (
          window as unknown as { lifelineDemo: { client: { stats(): { url?: string } } } }
        ).lifelineDemo.client.stats().url ?? "",
    );
    const victim = nodes.find((node) => connectedUrl.includes(`:${node.port}/`));
    expect(victim).toBeDefined();
    const survivor = nodes.find((node) => node !== victim) as Node;

    victim?.child.kill("SIGKILL");
    await victim?.exited;
    await page.waitForSelector('#connection[data-state="reconnecting"]', { timeout: 30_000 });
    const before = await count("ticks-received");
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 30_000 });
    // The lease may have died with the victim: the survivor takes it within ttl + renew.
    await page.waitForFunction(
      (target) =>
        Number(document.querySelector('[data-testid="ticks-received"]')?.textContent) >= target,
      before + 30,
      { timeout: 30_000 },
    );
    const nowUrl = await page.evaluate(
      () =>
        (
          window as unknown as { lifelineDemo: { client: { stats(): { url?: string } } } }
        ).lifelineDemo.client.stats().url ?? "",
    );
    expect(nowUrl).toContain(`:${survivor.port}/`);
    expect(await count("ticks-gaps")).toBe(0);
    expect(await count("ticks-duplicates")).toBe(0);
    expect(await count("ticks-resets")).toBe(0);
    await page.screenshot({ path: `${output}cluster-failover.png` });
  });
});
