import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener, type HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { createServer } from "@lifeline/server";
import { Hono } from "hono";

/** A running example: where it listens and how to stop it. */
export interface RunningApp {
  /** `http://127.0.0.1:<port>`: the page and the HTTP endpoints. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/ws`: the Lifeline endpoint. */
  readonly wsUrl: string;
  close(): Promise<void>;
}

const page = `<!doctype html>
<title>Lifeline on Hono</title>
<h1>Lifeline on Hono</h1>
<p>WebSocket endpoint: <code>/ws</code>. Health: <a href="/health">/health</a>,
metrics: <a href="/metrics">/metrics</a>.</p>`;

/**
 * Hono on `@hono/node-server` and Lifeline on one port. The node server's request listener
 * (what its `serve()` installs) runs on a `node:http` server whose `upgrade` event goes to
 * Lifeline's `handleUpgrade`; a middleware hands Hono's raw Node request and response
 * (`c.env`, `HttpBindings`) to `handleHttp` for `/health` and `/metrics`.
 */
export async function startApp(port = 0, host = "127.0.0.1"): Promise<RunningApp> {
  const lifeline = await createServer({
    noServer: true,
    // Clients may publish to chat topics; anything else stays server-owned.
    authorize: (_principal, topic, action, { byDefault }) =>
      byDefault || (action === "publish" && topic.startsWith("chat/")),
  });
  lifeline.method("echo", (params) => params);

  const app = new Hono<{ Bindings: HttpBindings }>();
  app.use(async (c, next) => {
    // Taken: Lifeline writes the Node response itself, so Hono must not send one.
    if (lifeline.handleHttp(c.env.incoming, c.env.outgoing)) return RESPONSE_ALREADY_SENT;
    await next();
  });
  app.get("/", (c) => c.html(page));

  const http = createHttpServer(getRequestListener(app.fetch));
  http.on("upgrade", (request, socket, head) => {
    if (!lifeline.handleUpgrade(request, socket, head)) socket.destroy();
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
