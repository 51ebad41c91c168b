import { mkdir } from "node:fs/promises";
import {
  createDemoMemoryBroker,
  type DemoServer,
  parseConfig,
  startDemoServer,
} from "@lifeline/demo-server";
import {
  type Browser,
  launchChromium,
  startUpgradeRefusingProxy,
  type UpgradeRefusingProxy,
} from "@lifeline/test-support";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWeb, type Dashboard, dashboard, output } from "./web.js";

/**
 * The dashboard's wires in chromium (apps/demo-web/README.md, "Tests"): the page is served
 * through a proxy that, like a corporate proxy or firewall, answers every WebSocket upgrade
 * with 403 and passes plain HTTP. The page's client falls back to the HTTP fallback (SSE
 * stream + posts), works there, and moves back to WebSocket once the proxy lets upgrades
 * through; then the top bar's switch forces each wire and codec. Across every move the
 * ticks counters continue with no gap and no duplicate, and each note shows once.
 */
describe("demo dashboard over each wire in chromium", () => {
  let broker: ReturnType<typeof createDemoMemoryBroker>;
  let demo: DemoServer;
  let proxy: UpgradeRefusingProxy;
  let browser: Browser;
  let page: Page;
  let view: Dashboard;

  const text = async (testId: string): Promise<string> =>
    (await page.getByTestId(testId).first().textContent()) ?? "";
  /** Waits until the indicator shows `state` on `transport` (and `codec`, if given). */
  const waitForWire = (transport: string, codec?: string, timeout = 30_000) =>
    page.waitForSelector(
      `#connection[data-state="open"][data-transport="${transport}"]${codec === undefined ? "" : `[data-codec="${codec}"]`}`,
      { timeout },
    );
  /** The notes shown with exactly this text. */
  const notesWith = (note: string) =>
    page.locator('[data-testid="note"]', {
      has: page.locator(".note-text", { hasText: new RegExp(`^${note}$`) }),
    });
  /** Publishes a note from the page's form and waits until the page shows it. */
  const publishNote = async (note: string): Promise<void> => {
    await page.getByTestId("note-text").fill(note);
    await page.getByTestId("note-publish").click();
    await notesWith(note).first().waitFor({ timeout: 15_000 });
  };
  /** Waits for 20 more ticks and checks that none was missed or repeated since `before`. */
  const ticksContinue = async (before: Awaited<ReturnType<Dashboard["counts"]>>) => {
    await view.receivedAtLeast(before.received + 20);
    const after = await view.counts();
    expect(after).toMatchObject({ gaps: 0, duplicates: 0, resets: 0 });
    expect(after.last - before.last).toBe(after.received - before.received);
  };

  beforeAll(async () => {
    await mkdir(output, { recursive: true });
    const webDir = await buildWeb("transports");
    broker = createDemoMemoryBroker();
    demo = await startDemoServer({
      config: parseConfig({ PORT: "0", DEMO_WEB_DIR: webDir, NODE_ID: "e2e", LOG_LEVEL: "warn" }),
      broker,
    });
    proxy = await startUpgradeRefusingProxy(demo.port);
    browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
    page = browser.page;
    view = dashboard(page);
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await demo?.close();
    await broker?.close();
  });

  it("works over SSE when a proxy refuses WebSocket, and moves back to WebSocket when it stops", async () => {
    proxy.refuse(403);
    await page.goto(`http://127.0.0.1:${proxy.port}/`);
    await waitForWire("sse");
    expect(await text("connection-wire")).toBe("SSE · JSON");
    // Browsers hide the refusal's status: two failed upgrades in a row move the client.
    expect(proxy.refused).toBeGreaterThanOrEqual(2);

    // Live over the stream, and sending over posts.
    await view.receivedAtLeast(20);
    await publishNote("written over SSE");
    await page.waitForSelector('[data-testid="command"]:first-child[data-status="ok"]');
    await page.getByTestId("diagnostics-toggle").click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="diag-transport"]')?.textContent === "SSE",
    );
    expect(await text("diag-codec")).toBe("JSON");
    expect(
      await page
        .locator('[data-testid="diag-attempts"] tbody tr[data-outcome="failed"]')
        .first()
        .textContent(),
    ).toContain("WebSocket");
    await page.screenshot({ path: `${output}08-sse-fallback.png` });

    // The proxy lets upgrades through again: a background probe finds WebSocket works and
    // the client moves to it (probes start about 5 s after the fallback, then back off).
    const before = await view.counts();
    proxy.refuse(undefined);
    await waitForWire("websocket", "json", 60_000);
    expect(await text("connection-wire")).toBe("WebSocket · JSON");
    await page.waitForFunction(
      () => document.querySelector('[data-testid="diag-transport"]')?.textContent === "WebSocket",
    );
    expect(await text("diag-probes")).toMatch(/^[1-9]\d* started/);
    await page.getByTestId("diag-close").click();
    await ticksContinue(before);
    await publishNote("written over WebSocket");
    expect(await notesWith("written over SSE").count()).toBe(1);
    expect(await notesWith("written over WebSocket").count()).toBe(1);
    await page.screenshot({ path: `${output}09-back-on-websocket.png` });
    expect(browser.errors.filter((e) => e.startsWith("pageerror"))).toEqual([]);
  });

  it("forces SSE, then MessagePack (a reload keeping the client id), then WebSocket only, from the switch", async () => {
    const id = await view.clientId();
    let before = await view.counts();
    await page.getByTestId("wire-transport").selectOption("sse");
    await waitForWire("sse");
    expect(new URL(page.url()).searchParams.get("transport")).toBe("sse");
    await ticksContinue(before);

    // The codec is chosen when the client is made: the page reloads with ?codec=msgpack.
    before = await view.counts();
    await Promise.all([
      page.waitForURL(/codec=msgpack/),
      page.getByTestId("wire-codec").selectOption("msgpack"),
    ]);
    // The SSE wire is JSON only, whatever the client asked for.
    await waitForWire("sse", "json");
    expect(await page.getByTestId("wire-transport").inputValue()).toBe("sse");
    expect(await page.getByTestId("wire-codec").inputValue()).toBe("msgpack");
    expect(await view.clientId()).toBe(id);
    await ticksContinue(before);

    before = await view.counts();
    await page.getByTestId("wire-transport").selectOption("websocket");
    await waitForWire("websocket", "msgpack");
    expect(await text("connection-wire")).toBe("WebSocket · MessagePack");
    await ticksContinue(before);
    await publishNote("written in MessagePack");
    expect(await notesWith("written in MessagePack").count()).toBe(1);
    await page.screenshot({ path: `${output}10-forced-msgpack.png` });
    expect(browser.errors.filter((e) => e.startsWith("pageerror"))).toEqual([]);
  });
});
