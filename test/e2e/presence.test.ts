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
 * Presence in the dashboard (apps/demo-web): each telescope card's "watchers" line is the
 * live presence of its status topic. Two tabs of one chromium (two client ids) each see
 * the other join and, once its tab is closed and the server's grace period is over, leave.
 */
describe("watchers on the telescope cards in chromium", () => {
  let broker: ReturnType<typeof createDemoMemoryBroker>;
  let demo: DemoServer;
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(output, { recursive: true });
    const webDir = await buildWeb("presence-web");
    broker = createDemoMemoryBroker();
    demo = await startDemoServer({
      config: parseConfig({ PORT: "0", DEMO_WEB_DIR: webDir, NODE_ID: "e2e", LOG_LEVEL: "warn" }),
      broker,
    });
    browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    await broker?.close();
  });

  const open = async (page: Page): Promise<string> => {
    await page.goto(`http://127.0.0.1:${demo.port}/`);
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 30_000 });
    return page.evaluate(
      () =>
        (
          window as unknown as { lifelineDemo: { client: { stats(): { clientId: string } } } }
        ).lifelineDemo.client.stats().clientId,
    );
  };
  /** Waits until the card's watchers are exactly `clientIds`. */
  const watchersAre = (page: Page, clientIds: string[]) =>
    page.waitForFunction(
      (expected) =>
        document
          .querySelector('[data-testid="seestar-001-watchers"]')
          ?.getAttribute("data-clients") === expected,
      [...clientIds].sort().join(" "),
      { timeout: 20_000 },
    );

  it("each tab sees the other join and leave", async () => {
    const first = browser.page;
    const firstId = await open(first);
    await watchersAre(first, [firstId]);

    const second = await browser.context.newPage();
    const secondId = await open(second);
    expect(secondId).not.toBe(firstId);
    await watchersAre(first, [firstId, secondId]);
    await watchersAre(second, [firstId, secondId]);
    expect(await first.getByTestId("seestar-001-watchers").textContent()).toMatch(/^Watchers: 2 /);
    await first.screenshot({ path: `${output}presence-01-two-watchers.png` });

    // The second tab closes: the first sees it leave after the grace period.
    await second.close();
    await watchersAre(first, [firstId]);

    // A third tab comes; the first closes: the third sees it leave, then a fourth join.
    const third = await browser.context.newPage();
    const thirdId = await open(third);
    await watchersAre(first, [firstId, thirdId]);
    await watchersAre(third, [firstId, thirdId]);
    await first.close();
    await watchersAre(third, [thirdId]);
    const fourth = await browser.context.newPage();
    const fourthId = await open(fourth);
    await watchersAre(third, [thirdId, fourthId]);
    await third.screenshot({ path: `${output}presence-02-after-leave-and-join.png` });
    expect(browser.errors.filter((e) => e.startsWith("pageerror"))).toEqual([]);
  });
});
