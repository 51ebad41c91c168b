import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createServer } from "@lifeline/server";
import next from "next";

/** A running example: where it listens and how to stop it. */
export interface RunningApp {
  /** `http://127.0.0.1:<port>`: the pages and the HTTP endpoints. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/ws`: the Lifeline endpoint. */
  readonly wsUrl: string;
  close(): Promise<void>;
}

export interface AppOptions {
  readonly port?: number;
  readonly host?: string;
  /**
   * Next's development server (compiles pages on demand, hot reload); false serves the
   * output of `next build`.
   * @default true
   */
  readonly dev?: boolean;
}

/**
 * A Next.js custom server with Lifeline on the same port. Next attaches an `upgrade`
 * listener of its own to the server on its first request (hot reload in development, its
 * rewrites in production), so Lifeline is created with `noServer` and takes only the
 * upgrades of its own path through `handleUpgrade`; every other upgrade is left to Next.
 * `handleHttp` answers `/health` and `/metrics` before Next's request handler.
 */
export async function startApp(options: AppOptions = {}): Promise<RunningApp> {
  const { port = 0, host = "127.0.0.1", dev = true } = options;
  const nextApp = next({ dev, dir: fileURLToPath(new URL("..", import.meta.url)), quiet: true });
  const handle = nextApp.getRequestHandler();
  const lifeline = await createServer({
    noServer: true,
    // Clients may publish to chat topics; anything else stays server-owned.
    authorize: (_principal, topic, action, { byDefault }) =>
      byDefault || (action === "publish" && topic.startsWith("chat/")),
  });
  lifeline.method("echo", (params) => params);
  await nextApp.prepare();

  const http = createHttpServer((request, response) => {
    if (lifeline.handleHttp(request, response)) return;
    void handle(request, response);
  });
  http.on("upgrade", (request, socket, head) => {
    // false: not Lifeline's path, and Next's own listener decides.
    lifeline.handleUpgrade(request, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, host, () => resolve());
  });
  const { port: bound } = http.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    wsUrl: `ws://${host}:${bound}/ws`,
    async close() {
      // Lifeline first: its clients are told to come back later (1012) before the port closes.
      await lifeline.close();
      await nextApp.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
