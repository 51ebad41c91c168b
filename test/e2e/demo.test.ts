import { mkdir } from "node:fs/promises";
import {
  createDemoMemoryBroker,
  type DemoServer,
  parseConfig,
  startDemoServer,
} from "@lifeline/demo-server";
import { type Browser, launchChromium } from "@lifeline/test-support";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWeb, output } from "./web.js";

/**
 * The dashboard in Debian's chromium against the real demo server (apps/demo-web/README.md,
 * "Tests"). The server runs in-process on a memory broker that outlives it, the way
 * Redis outlives a node, so a restart keeps the topics' history and the page must resume
 * with zero gaps and zero duplicates.
 */
describe("demo dashboard in chromium", () => {
  let broker: ReturnType<typeof createDemoMemoryBroker>;
  let demo: DemoServer | undefined;
  let browser: Browser;
  let page: Page;
  let port = 0;
  let webDir = "";

  const start = async (): Promise<DemoServer> =>
    startDemoServer({
      config: parseConfig({
        PORT: String(port),
        DEMO_WEB_DIR: webDir,
        NODE_ID: "e2e",
        LOG_LEVEL: "warn",
      }),
      broker,
    });
  const text = async (testId: string): Promise<string> =>
    (await page.getByTestId(testId).first().textContent()) ?? "";
  const count = async (testId: string): Promise<number> => Number(await text(testId));
  const shot = (name: string) => page.screenshot({ path: `${output}${name}.png` });
  const waitForState = (state: string, timeout = 30_000) =>
    page.waitForSelector(`#connection[data-state="${state}"]`, { timeout });

  beforeAll(async () => {
    await mkdir(output, { recursive: true });
    webDir = await buildWeb("web");
    broker = createDemoMemoryBroker();
    demo = await start();
    port = demo.port;
    browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    await broker?.close();
  });

  it("loads and shows the connection open (filled green dot)", async () => {
    await page.goto(`http://127.0.0.1:${port}/`);
    await waitForState("open");
    expect(await text("connection-state")).toBe("open");
    expect(await page.locator("#connection .dot").getAttribute("class")).toContain("dot-open");
    await shot("01-open");
  });

  it("shows live telescope status that keeps changing", async () => {
    await page.getByTestId("seestar-001-ra_deg").waitFor();
    const first = await text("seestar-001-ra_deg");
    await page.waitForFunction(
      (before) =>
        document.querySelector('[data-testid="seestar-001-ra_deg"]')?.textContent !== before,
      first,
      { timeout: 10_000 },
    );
    expect(await text("seestar-001-ra_deg")).not.toBe(first);
    expect(await text("seestar-002-battery")).toMatch(/^\d+\.\d %$/);
  });

  it("runs a move command to ok", async () => {
    await page.getByTestId("seestar-001-move-up").click();
    const row = page.getByTestId("command").first();
    await page.waitForSelector('[data-testid="command"]:first-child[data-status="ok"]', {
      timeout: 15_000,
    });
    expect(await row.textContent()).toContain("seestar-001 up 1000 ms");
    await shot("02-move-ok");
  });

  it("reconnects after a server restart with zero gaps and zero duplicates", async () => {
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="ticks-received"]')?.textContent) >= 20,
      undefined,
      { timeout: 15_000 },
    );
    await demo?.close();
    demo = undefined;
    await waitForState("reconnecting");
    expect(await page.locator("#connection .dot").getAttribute("class")).toContain(
      "dot-connecting",
    );
    expect(await text("connection-detail")).toMatch(/attempt \d+/);
    // Stay down until one attempt has failed, so the diagnostics have a failure to show.
    await page.waitForFunction(
      () =>
        /attempt ([2-9]|\d\d)/.test(
          document.querySelector('[data-testid="connection-detail"]')?.textContent ?? "",
        ),
      undefined,
      { timeout: 20_000 },
    );

    // While offline the page says so and a command waits, visibly, in the outbox.
    await page.getByTestId("seestar-001-move-left").click();
    await page.waitForSelector('[data-testid="command"]:first-child[data-status="queued"]');
    await page.waitForSelector('[data-testid="offline-banner"]:not([hidden])');
    expect(await text("offline-banner")).toContain("queued");
    await shot("03-reconnecting");
    const receivedWhileDown = await count("ticks-received");

    demo = await start();
    await waitForState("open");
    await page.waitForSelector('[data-testid="command"]:first-child[data-status="ok"]', {
      timeout: 20_000,
    });
    await page.waitForFunction(
      (target) =>
        Number(document.querySelector('[data-testid="ticks-received"]')?.textContent) >= target,
      receivedWhileDown + 30,
      { timeout: 20_000 },
    );
    expect(await count("ticks-gaps")).toBe(0);
    expect(await count("ticks-duplicates")).toBe(0);
    expect(await count("ticks-resets")).toBe(0);
    // Every n from the first seen to the last arrived exactly once.
    const stats = await page.evaluate(() => {
      const demoState = (window as unknown as { lifelineDemo: { ticks: { counts(): unknown } } })
        .lifelineDemo;
      return demoState.ticks.counts() as { received: number; last: number };
    });
    expect(stats.received).toBeGreaterThan(receivedWhileDown);
    expect(await page.getByTestId("offline-banner").isHidden()).toBe(true);
    await shot("04-reopened");
  });

  it("opens the diagnostics panel (Ctrl+Shift+W) showing the attempts and their error classes", async () => {
    await page.keyboard.press("Control+Shift+W");
    await page.getByTestId("diagnostics").waitFor({ state: "visible" });
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="diag-state"]')?.textContent ?? "") !== "",
    );
    expect(await text("diag-state")).toBe("open");
    const rows = page.locator('[data-testid="diag-attempts"] tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(2);
    expect(
      await page.locator('[data-testid="diag-attempts"] tbody tr[data-outcome="open"]').count(),
    ).toBeGreaterThanOrEqual(2);
    const failed = page.locator('[data-testid="diag-attempts"] tbody tr[data-outcome="failed"]');
    expect(await failed.count()).toBeGreaterThanOrEqual(1);
    expect(await failed.first().textContent()).toContain("network");
    expect(await text("diag-features")).toContain("resume");
    expect(await text("diag-page-node")).toBe("e2e");
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="diag-node"]')?.textContent ?? "—") !== "—",
    );
    expect(await text("diag-node")).toBe("e2e");
    expect(await text("diag-redis")).toBe("none");
    await shot("05-diagnostics");
    expect(browser.errors.filter((e) => e.startsWith("pageerror"))).toEqual([]);
    expect(browser.errors.filter((e) => e.includes("Content Security Policy"))).toEqual([]);
    await page.getByTestId("diag-close").click();
    expect(await page.getByTestId("diagnostics").isHidden()).toBe(true);
  });

  it("says when history was really lost (a fresh in-memory broker) and counts no gap for it", async () => {
    // What `pnpm demo` does when stopped and started again: the memory broker's history
    // dies with the process, so topics get a new epoch and n starts again at 1.
    await demo?.close();
    demo = undefined;
    await broker.close();
    broker = createDemoMemoryBroker();
    await waitForState("reconnecting");
    demo = await start();
    await waitForState("open");
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="ticks-resets"]')?.textContent) >= 1,
      undefined,
      { timeout: 20_000 },
    );
    const received = await count("ticks-received");
    await page.waitForFunction(
      (target) =>
        Number(document.querySelector('[data-testid="ticks-received"]')?.textContent) >= target,
      received + 20,
      { timeout: 20_000 },
    );
    expect(await count("ticks-resets")).toBe(1);
    expect(await count("ticks-gaps")).toBe(0);
    expect(await count("ticks-duplicates")).toBe(0);
    await shot("06-history-lost");
  });
});
