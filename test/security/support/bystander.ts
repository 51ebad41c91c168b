import { createClient, type LifelineClient } from "@lifeline/client";
import type { LifelineServer } from "@lifeline/server";
import { within } from "@lifeline/test-support";
import { WebSocket } from "ws";

/**
 * A well-behaved client that stays connected while a test attacks the server. `check()`
 * proves it is unaffected: still on its first connection, and a fresh publish reaches it.
 */
export interface Bystander {
  readonly client: LifelineClient;
  check(): Promise<void>;
  close(): void;
}

/** `clientId` names the client and its topic, so bystanders on one server stay apart. */
export async function startBystander(
  server: LifelineServer,
  url: string,
  clientId = "bystander",
): Promise<Bystander> {
  const topic = `bystander/${clientId}`;
  const received: unknown[] = [];
  const waiters = new Set<{ n: number; resolve: () => void }>();
  let markSubscribed!: () => void;
  const subscribed = new Promise<void>((resolve) => {
    markSubscribed = resolve;
  });
  // Taps frames to learn when `subscribed` arrived: then a publish provably reaches it.
  class Tapped extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      this.addEventListener("message", (event) => {
        if (typeof event.data === "string" && event.data.startsWith('{"type":"subscribed"')) {
          markSubscribed();
        }
      });
    }
  }
  const client = createClient({
    url,
    clientId,
    lifecycle: false,
    logLevel: "silent",
    WebSocket: Tapped as never,
  });
  client.subscribe(topic, (data) => {
    received.push(data);
    for (const waiter of [...waiters]) {
      if (received.some((d) => (d as { n?: number }).n === waiter.n)) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  });
  let counter = 0;
  const roundTrip = async () => {
    counter += 1;
    const n = counter;
    const arrived = new Promise<void>((resolve) => waiters.add({ n, resolve }));
    await server.publish(topic, { n });
    await within(arrived, `${clientId} to receive publish ${n}`, 5000);
  };
  await within(subscribed, `${clientId} to be subscribed`, 5000);
  await roundTrip();
  return {
    client,
    async check() {
      if (client.status !== "open") throw new Error(`the bystander is ${client.status}`);
      if (client.stats().successfulConnections !== 1) {
        throw new Error("the bystander was disconnected during the attack");
      }
      await roundTrip();
    },
    close: () => client.close(),
  };
}
