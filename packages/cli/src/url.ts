import { usageError } from "./errors.js";

/**
 * The WebSocket URL for a user's `<url>`: `http:`/`https:` mapped to `ws:`/`wss:`, and the
 * server's default path `/ws` when the URL has none (a URL cannot tell `ws://host` from
 * `ws://host/`). Any other scheme is a usage error.
 */
export function toSocketUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw usageError(`<url> must be a ws://, wss://, http:// or https:// URL, got "${input}"`);
  }
  switch (url.protocol) {
    case "ws:":
    case "wss:":
      break;
    case "http:":
    case "https:":
      url.protocol = url.protocol === "http:" ? "ws:" : "wss:";
      break;
    default:
      throw usageError(
        `<url> must be a ws://, wss://, http:// or https:// URL, got scheme "${url.protocol}"`,
      );
  }
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/ws";
  return url.toString();
}

/** The server's `GET /health` for a WebSocket URL: same host, `http(s):`, path `/health`. */
export function healthUrl(socketUrl: string): string {
  const url = new URL(socketUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  url.pathname = "/health";
  url.search = "";
  url.hash = "";
  return url.toString();
}
