import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer } from "@lifeline/server";
import express from "express";

/** A running example: where it listens and how to stop it. */
export interface RunningApp {
  /** `http://127.0.0.1:<port>`: the page and the HTTP endpoints. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/ws`: the Lifeline endpoint. */
  readonly wsUrl: string;
  close(): Promise<void>;
}

const page = `<!doctype html>
<title>Lifeline on Express</title>
<h1>Lifeline on Express 5</h1>
<p>WebSocket endpoint: <code>/ws</code>. Health: <a href="/health">/health</a>,
metrics: <a href="/metrics">/metrics</a>.</p>`;

/**
 * Express and Lifeline on one port: Lifeline attaches to the HTTP server Express is served
 * by (`server` option) and takes its upgrades; `handleHttp` is a middleware for `/health`
 * and `/metrics` that passes every other request on to the app's routes.
 */
export async function startApp(port = 0, host = "127.0.0.1"): Promise<RunningApp> {
  const app = express();
  const http = createHttpServer(app);
  const lifeline = await createServer({
    server: http,
    // Clients may publish to chat topics; anything else stays server-owned.
    authorize: (_principal, topic, action, { byDefault }) =>
      byDefault || (action === "publish" && topic.startsWith("chat/")),
  });
  lifeline.method("echo", (params) => params);

  app.use(lifeline.handleHttp);
  app.get("/", (_request, response) => {
    response.type("html").send(page);
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
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
