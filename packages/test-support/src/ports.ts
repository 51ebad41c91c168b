import { createServer } from "node:net";

/**
 * A loopback TCP port that was free a moment ago, for a child process that must be told its
 * port up front (redis-server, a demo node). In-process servers listen on port 0 instead.
 */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
