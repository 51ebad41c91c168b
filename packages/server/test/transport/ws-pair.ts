import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import type { WriteTarget } from "../../src/transport/index.js";

/** What the client end of a pair read, in order: `text:<string>` or `binary:<hex>`. */
export interface WsPair {
  /** The server end, as a writer target. */
  readonly target: WriteTarget;
  readonly server: WebSocket;
  /** Resolves once the client end has read `count` messages in all. */
  read(count: number): Promise<string[]>;
  close(): Promise<void>;
}

/** A real `ws` connection over loopback: a server socket and the client that reads it. */
export async function openWsPair(): Promise<WsPair> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const accepted = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const seen: string[] = [];
  const waiters: { count: number; resolve: (seen: string[]) => void }[] = [];
  client.on("message", (data: Buffer, isBinary: boolean) => {
    seen.push(isBinary ? `binary:${data.toString("hex")}` : `text:${data.toString()}`);
    for (const waiter of [...waiters]) {
      if (seen.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve([...seen]);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    client.once("open", () => resolve());
    client.once("error", reject);
  });
  const server = await accepted;
  return {
    server,
    target: { socket: server, pendingFrames: undefined, pendingBytes: 0, writtenTick: 0 },
    read(count) {
      if (seen.length >= count) return Promise.resolve([...seen]);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      client.terminate();
      server.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
