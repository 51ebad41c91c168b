import type { IncomingMessage, ServerResponse } from "node:http";
import type { LifelineServer } from "@lifeline/server";
import type { DemoAuth } from "./demo-auth.js";

/** Request bodies of the demo's API are a user name: anything longer is refused unread. */
const MAX_BODY_BYTES = 1024;

export interface ApiOptions {
  readonly auth: DemoAuth;
  readonly lifeline: Pick<LifelineServer, "disconnect" | "sessions">;
  /** The status endpoint's guard: loopback peers, or `Authorization: Bearer <admin token>`. */
  readonly isAdmin: (request: IncomingMessage) => boolean;
}

/**
 * The demo's two actions beside the WebSocket:
 * - `POST /api/login` `{"user":"ada"}`: a signed token for that user name, 5 minutes by
 *   default; the page calls it again for each refresh;
 * - `POST /api/admin/disconnect` `{"user":"ada"}` (admin only): closes every connection of
 *   that user on every node with 4403, so the pages stop and say why.
 * Returns true when it answered the request.
 */
export function createApiHandler(
  options: ApiOptions,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const routes: Record<string, (user: string, response: ServerResponse) => Promise<void>> = {
    "/api/login": async (user, response) => {
      json(response, 200, options.auth.issue(user));
    },
    "/api/admin/disconnect": async (user, response) => {
      const sessions = await options.lifeline.sessions({ user });
      await options.lifeline.disconnect(
        { user },
        { code: 4403, reason: "disconnected by an operator" },
      );
      json(response, 200, { user, disconnected: sessions.length });
    },
  };

  return (request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const route = routes[path];
    if (route === undefined) return false;
    if (request.method !== "POST") {
      json(response, 405, { error: "use POST" }, { allow: "POST" });
      return true;
    }
    if (path.startsWith("/api/admin/") && !options.isAdmin(request)) {
      json(response, 403, { error: "admin only: send Authorization: Bearer <admin token>" });
      request.resume();
      return true;
    }
    readUser(request, options.auth)
      .then(
        (user) => route(user, response),
        (error: Error) => json(response, 400, { error: error.message }),
      )
      .catch(() => {
        if (!response.headersSent) json(response, 503, { error: "try again later" });
      });
    return true;
  };
}

async function readUser(request: IncomingMessage, auth: DemoAuth): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`the body is limited to ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new Error('expected a JSON body {"user": "<name>"}');
  }
  const user = (body as { user?: unknown } | null)?.user;
  const invalid = auth.invalidUser(user);
  if (invalid !== undefined) throw new Error(invalid);
  return user as string;
}

function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  response.end(text);
}
