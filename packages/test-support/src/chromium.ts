import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { Availability } from "./system.js";

/**
 * Debian's chromium (no browser download). `LIFELINE_CHROMIUM` names another binary; CI's
 * proof that a missing browser fails the run points it at a path that does not exist.
 */
export function chromiumPath(): string {
  return process.env.LIFELINE_CHROMIUM || "/usr/bin/chromium";
}

/**
 * Headless, no sandbox (root in CI), and nothing that reaches out to the network on its own:
 * this machine's closed network refuses those connections, many at a time.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function chromiumAvailability(): Availability {
  const path = chromiumPath();
  try {
    accessSync(path, constants.X_OK);
    return { ok: true };
  } catch {
    return {
      ok: false,
      reason: `${path} not found or not executable: run "bash scripts/ensure-system-deps.sh chromium" (Debian package chromium)`,
    };
  }
}

export interface Browser {
  readonly context: BrowserContext;
  /** The first tab of the context. */
  readonly page: Page;
  /** Console errors and uncaught exceptions of the first tab, for assertions and failure output. */
  readonly errors: string[];
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** @default chromium's own (800x600 under playwright) */
  readonly viewport?: { readonly width: number; readonly height: number };
}

/** Headless chromium with a fresh profile that `close()` deletes. */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const availability = chromiumAvailability();
  if (!availability.ok) throw new Error(availability.reason);
  const profile = await mkdtemp(join(tmpdir(), "lifeline-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath(),
      headless: true,
      args: [...CHROMIUM_ARGS],
      ...(options.viewport ? { viewport: { ...options.viewport } } : {}),
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
