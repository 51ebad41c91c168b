import { createServer } from "@lifeline/server";
import { afterEach, expect, it } from "vitest";
import type { LifelineError } from "../src/errors.js";
import { createClient } from "../src/node.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { waitForState } from "./helpers/wait.js";
import { wireOptions } from "./helpers/wire.js";

// PROTOCOL.md, "Error codes": limit_exceeded is final. A client that re-asked on a timer
// would loop against the server's per-connection cap for as long as it stays connected.

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

it("drops a subscribe refused limit_exceeded and never asks for it again", async () => {
  const s = await createServer({
    port: 0,
    logger: false,
    limits: { maxSubscriptionsPerConnection: 2 },
    // No heartbeats: the client's watchdog would call the link dead when its clock jumps.
    heartbeat: { intervalMs: 0 },
  });
  s.method("echo", (params) => params);
  disposers.push(() => s.close({ reconnectAfterMs: 0, spreadMs: 0, drainTimeoutMs: 100 }));
  const clock = new ManualClock();
  const client = createClient({
    ...wireOptions(),
    url: `ws://127.0.0.1:${s.port}/ws`,
    clientId: "limited",
    clock,
    random: () => 0.5,
    lifecycle: false,
    logLevel: "silent",
  });
  disposers.push(() => client.close());
  await waitForState(client, "open");
  client.subscribe("a", () => {});
  client.subscribe("b", () => {});
  const refused = new Promise<LifelineError>((resolve) => {
    client.subscribe("c", () => {}, { onError: resolve });
  });
  expect((await refused).code).toBe("limit_exceeded");
  // Past every retry delay a passing refusal would get (0.5 s doubling to 15 s).
  for (let i = 0; i < 10; i += 1) clock.advance(15_000);
  await client.request("echo", null);
  // Counted where they arrive, whatever the wire: a, b, and c once.
  expect(s.stats().messagesIn.subscribe).toBe(3);
  expect(s.stats().limitRefusals).toEqual({ maxSubscriptionsPerConnection: 1 });
  expect(s.connections()[0]?.subscriptions).toEqual(new Set(["a", "b"]));
});
