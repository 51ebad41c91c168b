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
import { type FixtureServer, startFixtureServer } from "./fixtures/protocol-server.js";

// The browser entry, bundled as-is by esbuild, in Debian's Chromium (no browser download):
// global WebSocket, localStorage/sessionStorage client id, and the page's real
// online/offline events. Skipped where chromium is not installed, except under CI=true,
// where that fails the file (`bash scripts/ensure-system-deps.sh chromium` installs it).

/** What the page's globals hold (callbacks passed to `page.evaluate` run in the page). */
interface PageGlobals {
  Lifeline: { createClient(options: unknown): PageClient };
  client: PageClient;
  seen: number[];
  states: string[];
  localStorage: { getItem(key: string): string | null };
  sessionStorage: { getItem(key: string): string | null };
  open(url: string): unknown;
}
interface PageClient {
  readonly clientId: string;
  readonly status: string;
  getSnapshot(): { state: string; nextRetryAt?: number };
  subscribe(topic: string, handler: (data: number) => void, options?: { from: "stored" }): void;
  on(event: "state", listener: (change: { next: string }) => void): void;
}

describe.skipIf(skipWithout("chromium", chromiumAvailability()))(
  "browser entry in Chromium",
  () => {
    let fixture: FixtureServer;
    let http: PageServer | undefined;
    let browser: Browser | undefined;
    let page: Page;

    beforeAll(async () => {
      const bundle = await build({
        entryPoints: [fileURLToPath(new URL("../src/index.ts", import.meta.url))],
        bundle: true,
        platform: "browser",
        format: "iife",
        globalName: "Lifeline",
        conditions: ["@lifeline/source"],
        write: false,
        logLevel: "silent",
      });
      const script = bundle.outputFiles[0]?.text ?? "";
      fixture = await startFixtureServer();
      http = await servePage(
        '<!doctype html><title>client</title><script src="/lifeline.js"></script>',
        { "/lifeline.js": script },
      );
      browser = await launchChromium();
      page = browser.page;
      await page.goto(http.url);
    });

    afterAll(async () => {
      await browser?.close();
      await http?.close();
      await fixture?.close();
    });

    it("connects with the global WebSocket and a stable id kept in web storage", async () => {
      const connected = fixture.nextConnection();
      await page.evaluate((url) => {
        const g = globalThis as unknown as PageGlobals;
        g.seen = [];
        g.states = [];
        g.client = g.Lifeline.createClient({ url, logLevel: "silent" });
        g.client.on("state", (change) => g.states.push(change.next));
        g.client.subscribe("ticks", (data) => g.seen.push(data));
      }, fixture.url);
      const connection = await connected;
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobals).client.status === "open",
      );
      const ids = await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        return {
          clientId: g.client.clientId,
          device: g.localStorage.getItem("lifeline.device_id"),
          tab: g.sessionStorage.getItem("lifeline.tab_id"),
        };
      });
      expect(ids.clientId).toBe(`${ids.device}.${ids.tab}`);
      expect(connection.clientId).toBe(ids.clientId);
      expect(connection.socket.protocol).toBe("lifeline.v1");
    });

    it("delivers topic messages in order", async () => {
      await page.waitForFunction(() =>
        (globalThis as unknown as PageGlobals).states.includes("open"),
      );
      const [connection] = fixture.connections;
      // Wait until the subscription is live on the server before publishing.
      await expect.poll(() => connection?.topics.has("ticks")).toBe(true);
      for (let i = 1; i <= 3; i++) fixture.publish("ticks", i);
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).seen.length === 3);
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).seen)).toEqual([
        1, 2, 3,
      ]);
    });

    it("pauses retries while offline and resumes at once when back online, without loss", async () => {
      await page.context().setOffline(true);
      fixture.terminateAll();
      await page.waitForFunction(() => {
        const s = (globalThis as unknown as PageGlobals).client.getSnapshot();
        return s.state === "reconnecting" && s.nextRetryAt === undefined;
      });
      for (let i = 4; i <= 6; i++) fixture.publish("ticks", i);
      const reconnected = fixture.nextConnection();
      await page.context().setOffline(false);
      const connection = await reconnected;
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).seen.length === 6);
      expect(connection.received[0]).toMatchObject({
        type: "subscribe",
        topic: "ticks",
        since: { offset: 3 },
      });
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).seen)).toEqual([
        1, 2, 3, 4, 5, 6,
      ]);
    });

    it("gives a window opened from the page, which gets a copy of its sessionStorage, a client id of its own", async () => {
      const opener = await page.evaluate(
        () => (globalThis as unknown as PageGlobals).client.clientId,
      );
      const connected = fixture.nextConnection();
      const [popup] = await Promise.all([
        page.context().waitForEvent("page"),
        page.evaluate(
          (url) => void (globalThis as unknown as PageGlobals).open(url),
          http?.url ?? "",
        ),
      ]);
      await popup.waitForLoadState();
      const copied = await popup.evaluate(() =>
        (globalThis as unknown as PageGlobals).sessionStorage.getItem("lifeline.tab_id"),
      );
      const popupId = await popup.evaluate((url) => {
        const g = globalThis as unknown as PageGlobals;
        g.client = g.Lifeline.createClient({ url, logLevel: "silent" });
        return g.client.clientId;
      }, fixture.url);
      const connection = await connected;
      await popup.close();
      // The copy came with the opener's tab id (what made two tabs one client before)...
      expect(`${opener.split(".")[0]}.${copied}`).toBe(opener);
      // ...and the new page took another: same device, another tab.
      expect(popupId).not.toBe(opener);
      expect(popupId.split(".")[0]).toBe(opener.split(".")[0]);
      expect(connection.clientId).toBe(popupId);
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).client.status)).toBe(
        "open",
      );
    });

    it("keeps its client id across a reload and resumes from the positions saved in sessionStorage", async () => {
      const start = (url: string) => {
        const g = globalThis as unknown as PageGlobals;
        g.seen = [];
        g.client = g.Lifeline.createClient({ url, logLevel: "silent", positions: true });
        g.client.subscribe("stored", (data) => g.seen.push(data), { from: "stored" });
        return g.client.clientId;
      };
      let connected = fixture.nextConnection();
      const before = await page.evaluate(start, fixture.url);
      let connection = await connected;
      await expect.poll(() => connection.topics.has("stored")).toBe(true);
      for (let i = 1; i <= 3; i++) fixture.publish("stored", i);
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).seen.length === 3);

      await page.reload();
      for (let i = 4; i <= 5; i++) fixture.publish("stored", i);
      connected = fixture.nextConnection();
      const after = await page.evaluate(start, fixture.url);
      connection = await connected;
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).seen.length === 2);
      expect(after).toBe(before);
      expect(connection.received[0]).toMatchObject({
        type: "subscribe",
        topic: "stored",
        since: { offset: 3 },
      });
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).seen)).toEqual([
        4, 5,
      ]);
    });
  },
);
