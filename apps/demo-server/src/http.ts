import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

export interface HttpHandlerOptions {
  /** Directory of the built demo-web (`index.html` and `assets/`). */
  readonly webDir: string;
  /** The server's own endpoints (`/health`, `/api/websocket/status`, `/metrics`); true when handled. */
  readonly handleLifeline: (request: IncomingMessage, response: ServerResponse) => boolean;
  /** The demo's API (`/api/login`, `/api/admin/...`); true when handled. */
  readonly handleApi: (request: IncomingMessage, response: ServerResponse) => boolean;
  /** Served as `/demo-config.json`: what the page needs to know about this deployment. */
  readonly pageConfig: () => unknown;
}

/**
 * The HTTP side of the one port: the server's endpoints first, then `/demo-config.json`,
 * then the static page. Unknown paths without an extension get `index.html`; unknown files
 * get 404. Paths never leave `webDir`.
 */
export function createHttpHandler(
  options: HttpHandlerOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const root = normalize(options.webDir.endsWith(sep) ? options.webDir : options.webDir + sep);

  return (request, response) => {
    if (options.handleLifeline(request, response)) return;
    if (options.handleApi(request, response)) return;
    const url = new URL(request.url ?? "/", "http://localhost");
    if (request.method !== "GET" && request.method !== "HEAD") {
      send(response, 405, "text/plain; charset=utf-8", "method not allowed\n", {
        allow: "GET, HEAD",
      });
      return;
    }
    if (url.pathname === "/demo-config.json") {
      send(response, 200, "application/json; charset=utf-8", JSON.stringify(options.pageConfig()), {
        "cache-control": "no-store",
      });
      return;
    }
    serveStatic(root, url.pathname, request, response).catch(() => {
      if (!response.headersSent) send(response, 500, "text/plain; charset=utf-8", "error\n");
      else response.destroy();
    });
  };
}

async function serveStatic(
  root: string,
  pathname: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    send(response, 400, "text/plain; charset=utf-8", "bad path\n");
    return;
  }
  const relative = decoded === "/" ? "index.html" : decoded.replace(/^\/+/, "");
  const file = normalize(join(root, relative));
  if (!file.startsWith(root) || decoded.includes("\0")) {
    send(response, 404, "text/plain; charset=utf-8", "not found\n");
    return;
  }
  const found = await fileSize(file);
  if (found !== undefined) {
    stream(file, found, request, response);
    return;
  }
  // Client-side routes (no extension) get the page; a missing asset is a real 404.
  if (extname(relative) === "") {
    const index = join(root, "index.html");
    const indexSize = await fileSize(index);
    if (indexSize !== undefined) {
      stream(index, indexSize, request, response);
      return;
    }
    send(response, 503, "text/html; charset=utf-8", notBuiltPage(root));
    return;
  }
  send(response, 404, "text/plain; charset=utf-8", "not found\n");
}

/**
 * The page needs only its own scripts and styles, `data:` images (the favicon) and
 * WebSockets, possibly to other nodes of a cluster (hence `ws:`/`wss:`, not just 'self'),
 * and on networks that block WebSocket the client's HTTP fallback to the same nodes: the
 * SSE stream and its posts are `fetch` calls (hence `http:`/`https:`).
 * No 'unsafe-eval': @lifeline/protocol ships its validators precompiled, so the client
 * runs under a strict policy (the e2e tests load the page with exactly this header).
 */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; connect-src 'self' ws: wss: http: https:; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
} as const;

function stream(
  file: string,
  size: number,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const ext = extname(file);
  response.writeHead(200, {
    "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
    "content-length": size,
    "x-content-type-options": "nosniff",
    ...(ext === ".html" ? PAGE_HEADERS : {}),
    // Vite fingerprints everything under assets/; the page itself must always be fresh.
    "cache-control": file.includes(`${sep}assets${sep}`)
      ? "public, max-age=31536000, immutable"
      : "no-cache",
  });
  if (request.method === "HEAD") {
    response.end();
    return;
  }
  createReadStream(file)
    .on("error", () => response.destroy())
    .pipe(response);
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    const info = await stat(file);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

function notBuiltPage(root: string): string {
  const escaped = root.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><title>Lifeline demo</title>
<h1>The dashboard is not built</h1>
<p>No <code>index.html</code> in <code>${escaped}</code>. Build it with
<code>pnpm --filter @lifeline/demo-web build</code> (or run <code>pnpm demo</code>, which builds
everything), or point <code>DEMO_WEB_DIR</code> at a build.</p>
<p>The WebSocket endpoint <code>/ws</code>, <code>/health</code> and <code>/metrics</code> work without it.</p>
`;
}
