import { fileURLToPath } from "node:url";
import {
  type Browser,
  chromiumAvailability,
  launchChromium,
  type PageServer,
  servePage,
  skipWithout,
} from "@lifeline/test-support";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CountingServer, startCountingServer } from "./helpers.js";

// A React 19 app in <StrictMode> (development build: every effect is set up, cleaned up and
// set up again) in Debian's Chromium against a real server that counts the `subscribe`s
// reaching it. Skipped where chromium is not installed, except under CI=true, where that
// fails the file (`bash scripts/ensure-system-deps.sh chromium` installs it).

describe.skipIf(skipWithout("chromium", chromiumAvailability()))(
  "a strict mode app in Chromium",
  () => {
    let lifeline: CountingServer;
    let http: PageServer | undefined;
    let browser: Browser | undefined;
    let page: Page;

    beforeAll(async () => {
      const bundle = await build({
        entryPoints: [fileURLToPath(new URL("./fixtures/strict-app.tsx", import.meta.url))],
        bundle: true,
        platform: "browser",
        format: "esm",
        jsx: "automatic",
        conditions: ["@lifeline/source"],
        define: { "process.env.NODE_ENV": '"development"' },
        write: false,
        logLevel: "silent",
      });
      const script = bundle.outputFiles[0]?.text ?? "";
      lifeline = await startCountingServer();
      // Retained, so the page's `rewind` shows them at once.
      await lifeline.server.publish("ticks", 1);
      await lifeline.server.publish("notes", "x");
      await lifeline.server.publish("alerts", "fire");
      http = await servePage(
        '<!doctype html><title>strict</title><div id="root"></div><script type="module" src="/app.js"></script>',
        { "/app.js": script },
      );
      browser = await launchChromium();
      page = browser.page;
      await page.goto(`${http.url}?ws=${encodeURIComponent(lifeline.url)}`);
    });

    afterAll(async () => {
      await browser?.close();
      await http?.close();
      await lifeline?.close();
    });

    it("renders retained and live values, with one subscribe per topic on the server", async () => {
      const shows = (id: string, value: string) =>
        page.waitForFunction(
          ([i, v]) => document.getElementById(i ?? "")?.textContent === v,
          [id, value],
        );
      await shows("state", "open");
      await shows("a", "1");
      await shows("b", "1");
      // The retained values arrived, so both subscriptions are live: publish more.
      await shows("notes", "x");
      await lifeline.server.publish("ticks", 2);
      await lifeline.server.publish("notes", "y");
      await shows("notes", "x,y");
      await shows("a", "2");
      await shows("b", "2");
      // A component mounted while the connection is open: strict mode sets its effects up,
      // cleans them up and sets them up again at once.
      await page.click("#show");
      await shows("alert", "fire");

      // Strict mode did double the effects, and still one subscribe per topic reached the
      // server, over one connection.
      expect(await page.evaluate(() => window.effectSetups)).toBe(2);
      expect(Object.fromEntries(lifeline.subscribes)).toEqual({ ticks: 1, notes: 1, alerts: 1 });
      expect(lifeline.server.stats().connections.total).toBe(1);
      expect(browser?.errors).toEqual([]);
    });
  },
);
