import { describe, expect, it } from "vitest";
import type WebSocketFromWs from "ws";
import { buildSocketUrl } from "../../src/transport/handshake-url.js";
import { redactUrl } from "../../src/transport/redact.js";
import type { WebSocketConstructor } from "../../src/transport/socket.js";

/** The DOM lib's WebSocket, reduced to the shape of its declarations (lib.dom.d.ts). */
interface DomEvent {
  readonly type: string;
}
interface DomMessageEvent extends DomEvent {
  readonly data: unknown;
}
interface DomCloseEvent extends DomEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}
declare class DomWebSocket {
  constructor(url: string | URL, protocols?: string | string[]);
  readonly readyState: number;
  readonly protocol: string;
  binaryType: "blob" | "arraybuffer";
  onopen: ((this: DomWebSocket, ev: DomEvent) => unknown) | null;
  onmessage: ((this: DomWebSocket, ev: DomMessageEvent) => unknown) | null;
  onclose: ((this: DomWebSocket, ev: DomCloseEvent) => unknown) | null;
  onerror: ((this: DomWebSocket, ev: DomEvent) => unknown) | null;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

/** Type-checks only when both classes fit the option; never called. */
function bothFit(dom: typeof DomWebSocket, ws: typeof WebSocketFromWs): WebSocketConstructor[] {
  return [dom, ws];
}

describe("WebSocketLike", () => {
  it("accepts the DOM's and ws's WebSocket classes without a cast", () => {
    // The check is at compile time (tsc over the tests); this keeps the function referenced.
    expect(bothFit.length).toBe(2);
  });
});

describe("buildSocketUrl", () => {
  it("adds the handshake parameters and keeps the application's own", () => {
    const url = new URL(
      buildSocketUrl("wss://example.test/ws?tenant=a&version=9", {
        clientId: "c1",
        role: "frontend",
        token: "t o/k",
      }),
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      tenant: "a",
      version: "1",
      client_id: "c1",
      role: "frontend",
      token: "t o/k",
    });
  });

  it("omits the token when there is none", () => {
    expect(buildSocketUrl("ws://x/ws", { clientId: "c", role: "admin" })).toBe(
      "ws://x/ws?client_id=c&version=1&role=admin",
    );
  });
});

describe("redactUrl", () => {
  it("hides the token", () => {
    expect(redactUrl("ws://x/ws?token=secret&a=1")).toBe("ws://x/ws?token=%5Bredacted%5D&a=1");
    expect(redactUrl("not a url")).toBe("not a url");
  });
});
