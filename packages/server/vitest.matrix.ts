import { wireProjects } from "../../vitest.shared.ts";

/**
 * The server's integration tests again over the MessagePack wire (`server-msgpack`) and the
 * HTTP fallback (`server-sse`): their raw clients (`test/helpers.ts`, `connect`) speak the
 * wire `LIFELINE_TEST_WIRE` names. Every integration file is in the matrix unless its subject
 * is one wire itself; tests inside a matrix file that only a WebSocket has are defined on
 * that wire only (`onWebSocket`, `onJsonWebSocket` in `test/helpers.ts`).
 */
export default wireProjects({
  name: "server",
  root: import.meta.dirname,
  include: ["test/**/*.integration.test.ts"],
  exclude: [
    // The WebSocket upgrade: statuses, subprotocols, close codes of refused handshakes.
    "test/handshake.integration.test.ts",
    "test/handle-upgrade.integration.test.ts",
    // The wires themselves, each tested against the other on its own.
    "test/msgpack.integration.test.ts",
    "test/sse.integration.test.ts",
  ],
});
