import { createServer as createHttpServer, type Server } from "node:http";
import {
  type Browser,
  chromiumAvailability,
  launchChromium,
  skipWithout,
} from "@lifeline/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./support/server.js";

// docs/reliability.md, "Bad input and attackers" (Cross-site WebSocket hijacking): browsers send cookies with a WebSocket
// handshake from any page and do not apply CORS to it. A page on a foreign origin can then
// act as the logged-in user, unless the server checks Origin. Tested in Debian's chromium.

// Off CI a machine without chromium skips this file; under CI=true it fails it.
const skip = skipWithout("chromium", chromiumAvailability());

let browser: Browser | undefined;
const pages: Server[] = [];

/** Serves one page that sets the session cookie (the victim's app) or attacks (another origin). */
async function servePage(html: string): Promise<string> {
  const server = createHttpServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  pages.push(server);
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
}

beforeAll(async () => {
  if (!skip) browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const server of pages) server.close();
});

/** What a page's `new WebSocket(url)` came to: opened (and the hello it got) or failed. */
interface Outcome {
  readonly opened: boolean;
  readonly hello: { client_id?: string } | null;
  readonly closeCode: number | null;
}

async function tryFrom(origin: string, wsUrl: string): Promise<Outcome> {
  const page = await (browser as Browser).context.newPage();
  try {
    await page.goto(origin);
    return await page.evaluate(
      (url) =>
        new Promise<Outcome>((resolve) => {
          const socket = new WebSocket(url, ["lifeline.v1"]);
          let opened = false;
          socket.onopen = () => {
            opened = true;
          };
          socket.onmessage = (event) => {
            const message = JSON.parse(String(event.data)) as { type: string; client_id?: string };
            if (message.type === "hello") {
              socket.close(1000);
              resolve({ opened, hello: message, closeCode: null });
            }
          };
          socket.onclose = (event) => resolve({ opened, hello: null, closeCode: event.code });
        }),
      wsUrl,
    );
  } finally {
    await page.close();
  }
}

describe.skipIf(skip)("cross-site WebSocket hijacking in chromium", () => {
  let app: string;
  let evil: string;

  beforeAll(async () => {
    app = await servePage("<!doctype html><title>app</title>");
    evil = await servePage("<!doctype html><title>evil</title>");
    // The victim is logged in: the app's origin holds a session cookie. Cookies ignore
    // ports, so a page on another port of the same host is same-site and sends it too.
    await (browser as Browser).context.addCookies([
      { name: "session", value: "victim-session", url: app },
    ]);
  });

  async function serverWith(allowedOrigins?: string[]): Promise<TestServer> {
    return await startServer({
      ...(allowedOrigins ? { allowedOrigins } : {}),
      authenticate: (request) => {
        if (!String(request.headers.cookie).includes("session=victim-session")) {
          throw new Error("no session");
        }
        return { id: "victim" };
      },
    });
  }

  it("shows the attack is real without an allow-list: a foreign page connects as the victim", async () => {
    const t = await serverWith();
    try {
      const outcome = await tryFrom(evil, `${t.url}?client_id=evil-tab&version=1&role=frontend`);
      expect(outcome.opened).toBe(true);
      expect(outcome.hello?.client_id).toBe("evil-tab");
    } finally {
      await t.close();
    }
  });

  it("refuses the foreign page (403 before the upgrade) and admits the app when an allow-list is set", async () => {
    const t = await serverWith([app]);
    try {
      const attack = await tryFrom(evil, `${t.url}?client_id=evil-tab&version=1&role=frontend`);
      expect(attack.opened).toBe(false);
      expect(attack.closeCode).toBe(1006);
      expect(t.server.stats().handshakeFailures.origin).toBe(1);
      const legit = await tryFrom(app, `${t.url}?client_id=app-tab&version=1&role=frontend`);
      expect(legit.opened).toBe(true);
      expect(legit.hello?.client_id).toBe("app-tab");
      console.info(`[security] cross-site: ${evil} refused, ${app} admitted`);
    } finally {
      await t.close();
    }
  });
});
