import type { AddressInfo } from "node:net";
import { createServer } from "@lifeline/server";
import Fastify from "fastify";

/** A running example: where it listens and how to stop it. */
export interface RunningApp {
  /** `http://127.0.0.1:<port>`: the page and the HTTP endpoints. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/ws`: the Lifeline endpoint. */
  readonly wsUrl: string;
  close(): Promise<void>;
}

const page = `<!doctype html>
<title>Lifeline on Fastify</title>
<h1>Lifeline on Fastify 5</h1>
<p>WebSocket endpoint: <code>/ws</code>. Health: <a href="/health">/health</a>,
metrics: <a href="/metrics">/metrics</a>.</p>`;

/**
 * Fastify and Lifeline on one port. Fastify owns its HTTP server (`app.server`); Lifeline
 * is created with `noServer` and gets the upgrades through `handleUpgrade`, and an
 * `onRequest` hook lets `handleHttp` answer `/health` and `/metrics` before routing.
 */
export async function startApp(port = 0, host = "127.0.0.1"): Promise<RunningApp> {
  const app = Fastify();
  const lifeline = await createServer({
    noServer: true,
    // Clients may publish to chat topics; anything else stays server-owned.
    authorize: (_principal, topic, action, { byDefault }) =>
      byDefault || (action === "publish" && topic.startsWith("chat/")),
  });
  lifeline.method("echo", (params) => params);

  app.server.on("upgrade", (request, socket, head) => {
    if (!lifeline.handleUpgrade(request, socket, head)) socket.destroy();
  });
  app.addHook("onRequest", (request, reply, done) => {
    // Taken: the response is written by Lifeline, so Fastify must not send one.
    if (lifeline.handleHttp(request.raw, reply.raw)) reply.hijack();
    else done();
  });
  app.get("/", (_request, reply) => reply.type("text/html").send(page));
  // Lifeline closes first: its clients are told to come back later (1012).
  app.addHook("preClose", () => lifeline.close());

  await app.listen({ port, host });
  const { port: bound } = app.server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    wsUrl: `ws://${host}:${bound}/ws`,
    close: () => app.close(),
  };
}
