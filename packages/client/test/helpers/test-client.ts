import type { LifelineClient } from "../../src/api.js";
import { createClient } from "../../src/node.js";
import type { ClientOptions } from "../../src/options.js";
import { ManualClock } from "./manual-clock.js";
import { wireOptions } from "./wire.js";

/**
 * A Node-entry client for tests over real sockets: its timers on a manual clock (the
 * server keeps its own), jitter fixed, no page lifecycle, silent; `dispose` receives its
 * `close` so the test's disposer closes it even when the test fails. It speaks this run's
 * wire (`wire.ts`) unless `options` say otherwise.
 */
export function testClient(
  url: string,
  dispose: (close: () => void) => void,
  options: Partial<ClientOptions> = {},
): { client: LifelineClient; clock: ManualClock } {
  const clock = new ManualClock();
  const client = createClient({
    url,
    clock,
    random: () => 0.5,
    lifecycle: false,
    logLevel: "silent",
    ...wireOptions(),
    ...options,
  });
  dispose(() => client.close());
  return { client, clock };
}
