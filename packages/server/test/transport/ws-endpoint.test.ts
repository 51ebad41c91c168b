import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { SUBPROTOCOL } from "@lifeline/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { TransportSink, WriteTarget } from "../../src/transport/index.js";
import {
  createWsEndpoint,
  type Upgraded,
  websocketSubprotocols,
} from "../../src/transport/ws-transport.js";

interface Target extends WriteTarget {
  readonly events: string[];
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** An endpoint behind a real HTTP server; `prepare` runs on each upgraded socket first. */
async function serve(prepare: (ws: WebSocket) => void) {
  const sink: TransportSink<Target> = {
    message: (target, data) => target.events.push(`message:${data.toString()}`),
    activity: (target) => target.events.push("activity"),
    error: (target, error) => target.events.push(`error:${error.message}`),
    closed: (target, code) => target.events.push(`closed:${code}`),
  };
  const endpoint = createWsEndpoint<Target>({
    maxPayload: 1024,
    deflate: false,
    preframed: false,
    subprotocols: websocketSubprotocols,
    sink,
  });
  const accepted: { target: Target; upgraded: Upgraded }[] = [];
  const waiters: (() => void)[] = [];
  const server = createServer();
  servers.push(server);
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    endpoint.upgrade(request, socket, head, (upgraded) => {
      if (!upgraded) return;
      prepare(upgraded.socket as WebSocket);
      const target: Target = {
        socket: upgraded.socket,
        pendingFrames: undefined,
        pendingBytes: 0,
        writtenTick: 0,
        events: [],
      };
      endpoint.attach(target);
      accepted.push({ target, upgraded });
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, [SUBPROTOCOL]);
  await new Promise<void>((resolve, reject) => {
    client.once("open", () => resolve());
    client.once("error", reject);
  });
  if (accepted.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
  return { client, ...(accepted[0] as { target: Target; upgraded: Upgraded }) };
}

async function exercise(client: WebSocket, target: Target, ws: WebSocket): Promise<void> {
  const message = new Promise<void>((resolve) => ws.once("message", () => resolve()));
  const pong = new Promise<void>((resolve) => ws.once("pong", () => resolve()));
  client.send("hi");
  await message;
  ws.ping();
  await pong;
  client.close(1000, "bye");
  await new Promise<void>((resolve) => ws.once("close", () => resolve()));
  expect(target.events).toEqual(["message:hi", "activity", "closed:1000"]);
}

describe("WebSocket endpoint listeners", () => {
  it("routes message, pong and close through the one listener of each a socket gets", async () => {
    const { client, target, upgraded } = await serve(() => {});
    const ws = upgraded.socket as WebSocket;
    expect(ws.protocol).toBe(SUBPROTOCOL);
    expect(ws.eventNames().sort()).toEqual(["close", "error", "message", "pong"]);
    for (const name of ["close", "error", "message", "pong"])
      expect(ws.listenerCount(name)).toBe(1);
    // A listener added later (whenClosed, a drain watcher) is an ordinary EventEmitter one.
    let extra = 0;
    const more = (): void => {
      extra += 1;
    };
    ws.on("close", more);
    expect(ws.listenerCount("close")).toBe(2);
    expect(ws.listenerCount("toString")).toBe(0);
    await exercise(client, target, ws);
    expect(extra).toBe(1);
  });

  it("keeps listeners the socket already had besides the upgrade's placeholder", async () => {
    const seen: string[] = [];
    const { client, target, upgraded } = await serve((ws) => {
      ws.on("message", () => seen.push("own"));
    });
    const ws = upgraded.socket as WebSocket;
    expect(ws.listenerCount("message")).toBe(2);
    expect(ws.listenerCount("error")).toBe(1);
    await exercise(client, target, ws);
    expect(seen).toEqual(["own"]);
  });
});
