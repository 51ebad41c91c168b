import { mkdir } from "node:fs/promises";
import { type DemoServer, parseConfig, startDemoServer } from "@lifeline/demo-server";
import { type Browser, launchChromium } from "@lifeline/test-support";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWeb, type Dashboard, dashboard, output } from "./web.js";

/**
 * A reload of the dashboard mid-stream (apps/demo-web/README.md, "Tests"): the page saves
 * the ticks subscription's position in sessionStorage (the client's `positions: true`) and
 * its counts on `pagehide`; the reloaded page resumes with `since` while the server keeps
 * publishing at 10 Hz, so the counters continue with no gap and no duplicate. Starting at
 * the head instead would miss the ticks published during the reload: gaps > 0.
 */
describe("demo dashboard reloaded in chromium", () => {
  let demo: DemoServer;
  let browser: Browser;
  let page: Page;
  let view: Dashboard;

  beforeAll(async () => {
    await mkdir(output, { recursive: true });
    const webDir = await buildWeb("reload");
    demo = await startDemoServer({
      config: parseConfig({ PORT: "0", DEMO_WEB_DIR: webDir, NODE_ID: "e2e", LOG_LEVEL: "warn" }),
    });
    browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
    page = browser.page;
    view = dashboard(page);
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it("continues the ticks counters after a reload mid-stream: nothing missed, nothing twice", async () => {
    await page.goto(`http://127.0.0.1:${demo.port}/`);
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 30_000 });
    await view.receivedAtLeast(20);
    const id = await view.clientId();

    for (let reload = 1; reload <= 2; reload++) {
      const before = await view.counts();
      await page.reload();
      await page.waitForSelector('#connection[data-state="open"]', { timeout: 30_000 });
      // Counts are back from sessionStorage at once, then keep rising.
      await view.receivedAtLeast(before.received + 20);
      const after = await view.counts();
      expect(after).toMatchObject({ gaps: 0, duplicates: 0, resets: 0 });
      expect(after.last - before.last).toBe(after.received - before.received);
      expect(await view.clientId()).toBe(id);
    }
    await page.screenshot({ path: `${output}07-reloaded.png` });
    expect(browser.errors.filter((e) => e.startsWith("pageerror"))).toEqual([]);
  });
});
