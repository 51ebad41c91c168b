import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { binaryFrame, textFrame } from "./frames.js";
import type { WebSocketInternals } from "./ws-writer.js";

/** What the start-up check found: whether frames may be written under `ws`, and why not. */
export type PreframedCapability =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string };

export interface VerifyOptions {
  /**
   * Reads the internals of a server-side socket. Tests replace it to play a `ws` whose
   * private fields moved.
   * @default the socket's own fields
   */
  readonly inspect?: (ws: WebSocket) => WebSocketInternals;
  /**
   * How long the check may take before the public path is chosen.
   * @default 2000
   */
  readonly timeoutMs?: number;
}

const PROBE_TEXT = "lifeline-preframed-probe";
const PROBE_BYTES = Buffer.from([0x92, 0x01, 0x02]);
const AFTER_TEXT = "lifeline-preframed-after";

/**
 * Proves the pre-framed path against the `ws` installed (see `ws-transport.ts` for why the
 * path exists): on a real connection over loopback, a text frame and a binary frame are
 * written to the server socket's raw net socket, then a message is sent through `ws.send`;
 * the `ws` client must read all three, whole and in that order. Anything else (fields
 * missing or of another shape, a frame lost, garbled or reordered, an error) selects the
 * public `ws.send` path, which is slower but needs nothing private.
 */
export function verifyPreframedWrites(options: VerifyOptions = {}): Promise<PreframedCapability> {
  const inspect = options.inspect ?? ((ws) => ws as unknown as WebSocketInternals);
  const timeoutMs = options.timeoutMs ?? 2000;
  return new Promise((resolve) => {
    let settled = false;
    let client: WebSocket | undefined;
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, clientTracking: true });
    const timer = setTimeout(() => finish({ ok: false, reason: "timed out" }), timeoutMs);
    function finish(result: PreframedCapability): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client?.terminate();
      for (const socket of wss.clients) socket.terminate();
      wss.close();
      resolve(result);
    }
    wss.on("error", (error) => finish({ ok: false, reason: `probe server: ${error.message}` }));
    wss.on("connection", (ws) => {
      const internals = inspect(ws);
      const shapeProblem = checkShape(internals);
      if (shapeProblem !== undefined) {
        finish({ ok: false, reason: shapeProblem });
        return;
      }
      try {
        const raw = internals._socket as NonNullable<WebSocketInternals["_socket"]>;
        raw.write(textFrame(PROBE_TEXT, Buffer.byteLength(PROBE_TEXT)));
        raw.write(binaryFrame(PROBE_BYTES));
        ws.send(AFTER_TEXT);
      } catch (error) {
        finish({ ok: false, reason: `write failed: ${(error as Error).message}` });
      }
    });
    wss.on("listening", () => {
      const { port } = wss.address() as AddressInfo;
      const peer = new WebSocket(`ws://127.0.0.1:${port}`);
      client = peer;
      const seen: string[] = [];
      const expected = [
        `text:${PROBE_TEXT}`,
        `binary:${PROBE_BYTES.toString("hex")}`,
        `text:${AFTER_TEXT}`,
      ];
      peer.on("message", (data: Buffer, isBinary: boolean) => {
        seen.push(isBinary ? `binary:${data.toString("hex")}` : `text:${data.toString()}`);
        const at = seen.length - 1;
        if (seen[at] !== expected[at]) {
          finish({ ok: false, reason: `the peer read ${seen[at]} where ${expected[at]} was due` });
        } else if (seen.length === expected.length) {
          finish({ ok: true });
        }
      });
      peer.on("error", (error) => finish({ ok: false, reason: `probe client: ${error.message}` }));
      peer.on("close", () => finish({ ok: false, reason: "the probe connection closed" }));
    });
  });
}

function checkShape(internals: WebSocketInternals): string | undefined {
  const raw = internals._socket;
  if (raw === undefined || typeof raw.write !== "function" || typeof raw.on !== "function") {
    return "ws has no writable _socket";
  }
  const sender = internals._sender;
  if (sender === undefined || typeof sender._state !== "number" || !Array.isArray(sender._queue)) {
    return "ws has no _sender with a numeric _state and a _queue array";
  }
  if (sender._state !== 0 || sender._queue.length !== 0) {
    return "an idle ws sender is not in state 0 with an empty queue";
  }
  return undefined;
}

let verified: Promise<PreframedCapability> | undefined;

/** `verifyPreframedWrites` once per process: every server of the process shares the answer. */
export function preframedCapability(): Promise<PreframedCapability> {
  verified ??= verifyPreframedWrites();
  return verified;
}
