import { connect, createServer, type Socket } from "node:net";

/** A request head longer than this is forwarded without looking further. */
const MAX_HEAD_BYTES = 16 * 1024;

const isUpgrade = (head: Buffer) => /^upgrade:\s*websocket\s*$/im.test(head.toString("latin1"));

export interface UpgradeRefusingProxy {
  readonly port: number;
  /** Upgrades refused so far. */
  readonly refused: number;
  /** Refuses upgrades with `status` from now on; `undefined` lets them through again. */
  refuse(status: number | undefined): void;
  /** Cuts every link, so connected clients have to come through the proxy again. */
  cutAll(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a server that, while `refuse(status)` is set,
 * answers every WebSocket upgrade with that HTTP status, as a corporate proxy or firewall
 * that blocks WebSocket does; plain HTTP (the SSE stream and its posts, a page and its
 * assets) passes through. Only the first request of a link is looked at: browsers open a
 * connection of its own for every WebSocket.
 */
export async function startUpgradeRefusingProxy(
  upstreamPort: number,
): Promise<UpgradeRefusingProxy> {
  let refusing: number | undefined;
  let refused = 0;
  const links = new Set<Socket>();

  const server = createServer((client) => {
    links.add(client);
    client.on("close", () => links.delete(client));
    client.on("error", () => {});
    let head: Buffer | undefined = Buffer.alloc(0);
    let upstream: Socket | undefined;
    client.on("data", (chunk: Buffer) => {
      if (head === undefined) {
        upstream?.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      if (head.indexOf("\r\n\r\n") === -1 && head.length < MAX_HEAD_BYTES) return;
      const request = head;
      head = undefined;
      if (refusing !== undefined && isUpgrade(request)) {
        refused += 1;
        client.end(
          `HTTP/1.1 ${refusing} Blocked\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        );
        return;
      }
      const link = connect(upstreamPort, "127.0.0.1");
      upstream = link;
      links.add(link);
      link.on("close", () => {
        links.delete(link);
        client.destroy();
      });
      link.on("error", () => {});
      link.on("data", (data: Buffer) => client.write(data));
      client.on("close", () => link.destroy());
      link.write(request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;

  return {
    port,
    get refused() {
      return refused;
    },
    refuse(status) {
      refusing = status;
    },
    cutAll() {
      for (const link of [...links]) link.destroy();
    },
    close() {
      for (const link of [...links]) link.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
