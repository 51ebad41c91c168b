import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** An HTTP server on 127.0.0.1 serving one page and its scripts, for browser tests. */
export interface PageServer {
  /** `http://127.0.0.1:<port>/`: the page. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves each of `scripts` (path -> JavaScript text, e.g. `{ "/app.js": bundle }`) at its
 * path and `html` at every other path, on a free port of 127.0.0.1.
 */
export async function servePage(
  html: string,
  scripts: Readonly<Record<string, string>>,
): Promise<PageServer> {
  const server = createServer((req, res) => {
    const script = scripts[req.url ?? ""];
    if (script !== undefined) {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(script);
      return;
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
