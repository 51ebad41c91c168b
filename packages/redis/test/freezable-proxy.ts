import { connect, createServer, type Socket } from "node:net";

/**
 * A TCP proxy on a free loopback port in front of `targetPort`, that can go silent: while
 * frozen it forwards nothing either way and closes nothing, as a network partition looks
 * to both ends (no RST, no FIN). Connections opened meanwhile are held the same way.
 */
export interface FreezableProxy {
  readonly port: number;
  readonly url: string;
  freeze(): void;
  /** Forwards again, what was held while frozen first. */
  thaw(): void;
  close(): Promise<void>;
}

interface Link {
  readonly from: Socket;
  readonly to: Socket;
  readonly held: Buffer[];
}

/**
 * `observe` sees every chunk a client sends (before it is forwarded or held), with the
 * number of the connection it came on, counting from 0 in order of arrival.
 */
export async function startFreezableProxy(
  targetPort: number,
  observe?: (connection: number, chunk: Buffer) => void,
): Promise<FreezableProxy> {
  let accepted = 0;
  let frozen = false;
  const links = new Set<Link>();
  const sockets = new Set<Socket>();

  function forward(from: Socket, to: Socket): Link {
    const link: Link = { from, to, held: [] };
    links.add(link);
    from.on("data", (chunk: Buffer) => {
      if (frozen) link.held.push(chunk);
      else to.write(chunk);
    });
    return link;
  }

  const server = createServer((client) => {
    const connection = accepted++;
    if (observe) client.on("data", (chunk: Buffer) => observe(connection, chunk));
    const upstream = connect({ host: "127.0.0.1", port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      // One side closing closes the other, unless frozen: a partition carries no FIN either.
      socket.on("close", () => {
        sockets.delete(socket);
        if (!frozen) {
          client.destroy();
          upstream.destroy();
        }
      });
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const link of links) {
        for (const chunk of link.held.splice(0)) {
          if (!link.to.destroyed) link.to.write(chunk);
        }
        if (link.from.destroyed || link.to.destroyed) {
          link.from.destroy();
          link.to.destroy();
          links.delete(link);
        }
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
