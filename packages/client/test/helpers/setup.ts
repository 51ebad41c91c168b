import { createClient } from "../../src/index.js";
import type { ClientOptions } from "../../src/options.js";
import type { PageLifecycle } from "../../src/reconnect/page-lifecycle.js";
import type { StateChange } from "../../src/state/store.js";
import { fakeSockets } from "./fake-socket.js";
import { ManualClock } from "./manual-clock.js";

/** A page lifecycle the test toggles. */
export function fakeLifecycle() {
  let online = true;
  let handlers: Parameters<PageLifecycle["watch"]>[0] | undefined;
  const lifecycle: PageLifecycle = {
    isOnline: () => online,
    watch(h) {
      handlers = h;
      return () => {
        handlers = undefined;
      };
    },
  };
  return {
    lifecycle,
    goOffline() {
      online = false;
      handlers?.offline();
    },
    goOnline() {
      online = true;
      handlers?.online();
    },
    becomeVisible() {
      handlers?.visible();
    },
    becomeHidden() {
      handlers?.hidden?.();
    },
    get watching() {
      return handlers !== undefined;
    },
  };
}

/** A client on fake sockets and a manual clock; `random` fixed at 0.5 unless overridden. */
export function setupClient(overrides: Partial<ClientOptions> = {}) {
  const clock = new ManualClock();
  const sockets = fakeSockets();
  const client = createClient({
    url: "ws://lifeline.test/ws",
    clientId: "client-1",
    WebSocket: sockets.WebSocket,
    clock,
    random: () => 0.5,
    lifecycle: false,
    logLevel: "silent",
    // Fake sockets only: no fallback to SSE, which would fetch for real.
    transports: ["websocket"],
    ...overrides,
  });
  const changes: StateChange[] = [];
  client.on("state", (change) => changes.push(change));
  const states = () => changes.map((c) => c.next);
  return { client, clock, sockets, changes, states };
}
