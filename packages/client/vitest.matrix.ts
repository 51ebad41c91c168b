import { wireProjects } from "../../vitest.shared.ts";

/**
 * The client's integration tests against a real Lifeline server again over the MessagePack
 * codec (`client-msgpack`) and the HTTP fallback alone (`client-sse`): `testClient` and the
 * tests' own `createClient` calls take the wire from `LIFELINE_TEST_WIRE`
 * (`test/helpers/wire.ts`).
 */
export default wireProjects({
  name: "client",
  root: import.meta.dirname,
  include: ["test/**/*.integration.test.ts"],
  exclude: [
    // Against the hand-written WebSocket fixture server (JSON frames only), not the real one.
    "test/client.integration.test.ts",
    "test/browser.integration.test.ts",
    // The wires themselves: fallback, probing, codec choice, the SSE transport against a
    // scripted server.
    "test/transports.integration.test.ts",
    "test/transport/**",
  ],
});
