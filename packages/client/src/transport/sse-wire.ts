import { CloseCode } from "@lifeline/protocol";

/**
 * What the SSE wire says besides the messages themselves (PROTOCOL.md, "HTTP fallback
 * (SSE)"): where the endpoints are, the key in `hello`, the close event, a refusal's body.
 */

/** A refusal's body is read only this far: enough for `{"code":403,"reason":"..."}`. */
const MAX_REFUSAL_CHARS = 1024;

/**
 * The SSE endpoint beside a WebSocket endpoint: `ws:` becomes `http:`, `wss:` `https:`,
 * and the last path segment `sse`, as `new URL("sse", url)` resolves it (`/ws` -> `/sse`,
 * `/api/ws` -> `/api/sse`). The query is kept (the application's own parameters); the
 * handshake parameters are added later.
 */
export function deriveSseUrl(webSocketUrl: string): string {
  const source = new URL(webSocketUrl);
  const derived = new URL("sse", source);
  derived.search = source.search;
  if (derived.protocol === "ws:") derived.protocol = "http:";
  else if (derived.protocol === "wss:") derived.protocol = "https:";
  return derived.toString();
}

/** `<ssePath>/send?connection_id=<id>&key=<sse_key>`, beside the stream's path. */
export function sendUrl(streamUrl: string, connectionId: string, key: string): string {
  const target = new URL(streamUrl);
  target.pathname = `${target.pathname.replace(/\/+$/, "")}/send`;
  target.search = "";
  target.searchParams.set("connection_id", connectionId);
  target.searchParams.set("key", key);
  return target.toString();
}

/**
 * The server's `hello` carries `sse_key`, the secret that authorizes posts. It is taken
 * out before the message goes up: it belongs to this wire, and nothing above should log
 * it. Undefined for anything but a `hello` with a connection id and a key.
 */
export function readHello(
  data: string,
  streamUrl: string,
): { postUrl: string; data: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { sse_key: key, ...hello } = parsed as Record<string, unknown>;
  if (
    hello.type !== "hello" ||
    typeof hello.connection_id !== "string" ||
    typeof key !== "string"
  ) {
    return undefined;
  }
  return { postUrl: sendUrl(streamUrl, hello.connection_id, key), data: JSON.stringify(hello) };
}

/** `event: close` carries `{"code":<n>,"reason":"..."}`; anything else reads as 1006. */
export function parseCloseEvent(data: string): { code: number; reason: string } {
  try {
    const parsed = JSON.parse(data) as { code?: unknown; reason?: unknown };
    const code = parsed.code;
    if (typeof code === "number" && Number.isInteger(code) && code >= 1000 && code <= 4999) {
      return { code, reason: typeof parsed.reason === "string" ? parsed.reason : "" };
    }
  } catch {
    // Not JSON: reported as a stream that ended without a usable close event.
  }
  return { code: CloseCode.Abnormal, reason: "the close event carried no code" };
}

/** ` (reason)` from a refusal's JSON body `{"code","reason"}`, read within a bound. */
export async function refusalReason(response: Response): Promise<string> {
  const body = response.body;
  if (body === null) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < MAX_REFUSAL_CHARS) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    return "";
  } finally {
    void reader.cancel().catch(() => {});
  }
  try {
    const reason = (JSON.parse(text) as { reason?: unknown }).reason;
    return typeof reason === "string" && reason !== "" ? ` (${reason.slice(0, 200)})` : "";
  } catch {
    return "";
  }
}

/** An error's message; undici's "fetch failed" keeps the useful part in `cause`. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
