import { testWire } from "@lifeline/test-support";
import type { ClientOptions } from "../../src/options.js";
import { deriveSseUrl } from "../../src/transport/sse-wire.js";

/**
 * The wire this run's clients speak: `LIFELINE_TEST_WIRE`, set by the projects of the wire
 * matrix (`client-msgpack`, `client-sse`; see `vitest.matrix.ts`), else `websocket`.
 */
export const wire = testWire();

/**
 * The client options that put a client on this run's wire: the HTTP fallback alone
 * (`transports: ["sse"]`, its URL derived from `url`), or the MessagePack codec. A test's
 * own options come after and win.
 */
export function wireOptions(): Pick<ClientOptions, "transports" | "codec"> {
  if (wire === "sse") return { transports: ["sse"] };
  if (wire === "msgpack") return { codec: "msgpack" };
  return {};
}

/**
 * The URL a client on this wire connects to for the WebSocket `url` it was given (what
 * `stats().url` reports): the derived SSE URL over the fallback.
 */
export function wireUrl(url: string): string {
  return wire === "sse" ? deriveSseUrl(url) : url;
}
