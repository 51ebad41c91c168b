import { mkdir } from "node:fs/promises";
import {
  createDemoMemoryBroker,
  type DemoServer,
  parseConfig,
  startDemoServer,
} from "@lifeline/demo-server";
import { type Browser, launchChromium } from "@lifeline/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWeb, output } from "./web.js";

/**
 * The demo's sign-in and its admin action in chromium (apps/demo-web/README.md): a page
 * signs in by name and its connection becomes that user's; another page, an operator's
 * on localhost, disconnects the user from the diagnostics panel, and the first page stops
 * in `failed` (4403) instead of reconnecting.
 */
describe("demo sign-in and admin disconnect in chromium", () => {
  let broker: ReturnType<typeof createDemoMemoryBroker>;
  let demo: DemoServer;
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(output, { recursive: true });
    const webDir = await buildWeb("sign-in");
    broker = createDemoMemoryBroker();
    demo = await startDemoServer({
      config: parseConfig({ PORT: "0", DEMO_WEB_DIR: webDir, LOG_LEVEL: "warn" }),
      broker,
    });
    browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    await broker?.close();
  });

  it("signs a page in by name and disconnects that user from another page", async () => {
    const user = browser.page;
    await user.goto(`http://127.0.0.1:${demo.port}/`);
    await user.waitForSelector('#connection[data-state="open"]');
    await user.getByTestId("sign-in-name").fill("ada");
    await user.getByTestId("sign-in").click();
    await user.getByTestId("signed-in-as").waitFor();
    expect(await user.getByTestId("signed-in-as").textContent()).toBe("Signed in as ada");
    await user.waitForSelector('#connection[data-state="open"]');
    await expect.poll(async () => (await demo.lifeline.sessions({ user: "ada" })).length).toBe(1);

    const admin = await browser.context.newPage();
    await admin.goto(`http://127.0.0.1:${demo.port}/?wsDebug=1`);
    await admin.waitForSelector('#connection[data-state="open"]');
    await admin.getByTestId("admin-user").fill("ada");
    await admin.getByTestId("admin-disconnect").click();
    await admin.waitForFunction(
      () =>
        /disconnected 1 session/.test(
          document.querySelector('[data-testid="admin-result"]')?.textContent ?? "",
        ),
      undefined,
      { timeout: 10_000 },
    );
    await user.waitForSelector('#connection[data-state="failed"]', { timeout: 10_000 });
    expect(await user.getByTestId("offline-banner").textContent()).toContain(
      "Disconnected for good",
    );
    await user.screenshot({ path: `${output}sign-in-disconnected.png` });
    // The operator's own page is anonymous and untouched.
    expect(await admin.locator("#connection").getAttribute("data-state")).toBe("open");
    // The client logs its fatal close at error level; nothing else may have gone wrong.
    const unexpected = browser.errors.filter((e) => !e.includes("connection failed, not retrying"));
    expect(unexpected).toEqual([]);
  });
});
