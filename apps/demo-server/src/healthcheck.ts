import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { PROTOCOL_VERSION, SUBPROTOCOL } from "@lifeline/protocol";
import WebSocket from "ws";

export interface HealthResult {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Opens a WebSocket to `url`, waits for the server's `hello` and closes normally. A TCP
 * check would pass for a process that accepts connections but cannot complete the
 * handshake; this one proves the whole path a browser takes.
 */
export function checkHealth(url: string, timeoutMs = 5000): Promise<HealthResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve({ ok: false, detail: `not a URL: "${url}"` });
  }
  return new Promise((resolve) => {
    target.searchParams.set("client_id", `healthcheck-${randomUUID()}`);
    target.searchParams.set("version", String(PROTOCOL_VERSION));
    target.searchParams.set("role", "test");
    const started = Date.now();
    let done = false;
    const socket = new WebSocket(target, SUBPROTOCOL, { handshakeTimeout: timeoutMs });
    const finish = (result: HealthResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, "healthcheck done");
      else socket.terminate();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, detail: `no hello within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.on("message", (raw) => {
      let type: unknown;
      try {
        type = (JSON.parse(raw.toString()) as { type?: unknown }).type;
      } catch {
        finish({ ok: false, detail: "the server sent a frame that is not JSON" });
        return;
      }
      if (type === "hello") finish({ ok: true, detail: `hello after ${Date.now() - started} ms` });
    });
    socket.on("unexpected-response", (_request, response) =>
      finish({ ok: false, detail: `upgrade refused with HTTP ${response.statusCode}` }),
    );
    socket.on("close", (code, reason) =>
      finish({ ok: false, detail: `closed before hello: ${code} ${reason.toString()}` }),
    );
    socket.on("error", (error) => finish({ ok: false, detail: error.message }));
  });
}

/** `node dist/healthcheck.js [url]`: exit 0 when healthy, 1 otherwise, within 5 s. */
async function main(): Promise<void> {
  const url =
    process.argv[2] ??
    process.env.HEALTHCHECK_URL ??
    `ws://127.0.0.1:${process.env.PORT || 8765}/ws`;
  const result = await checkHealth(url, 5000);
  (result.ok ? process.stdout : process.stderr).write(
    `healthcheck ${result.ok ? "ok" : "failed"}: ${url}: ${result.detail}\n`,
  );
  process.exit(result.ok ? 0 : 1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
