import { createClient } from "@lifeline/client";
import { renderToString } from "react-dom/server";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { LifelineProvider, useConnection, useRequest, useSubscription } from "../src/index.js";
import { clientOptions, startCountingServer } from "./helpers.js";

// Server rendering in Node (no DOM): the hooks render their initial state, and no socket
// opens, though a real server is listening at the client's URL.

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

/** `ws`, counting the sockets made. */
function countingWebSocket() {
  const made = { count: 0 };
  class Counting extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      made.count += 1;
    }
  }
  return { made, WebSocket: Counting };
}

function Page() {
  const { state } = useConnection();
  const { data } = useSubscription("ticks", { rewind: 1 });
  const echo = useRequest("echo");
  return <p>{`state ${state}, tick ${String(data)}, echo ${echo.status}`}</p>;
}

/** Lets every pending microtask and I/O callback run, where a socket would be opened. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("server rendering", () => {
  it("renders the initial state and opens no socket, with a provider-made client", async () => {
    const s = await startCountingServer();
    disposers.push(() => s.close());
    await s.server.publish("ticks", 1);
    const { made, WebSocket: Counting } = countingWebSocket();
    const html = renderToString(
      <LifelineProvider options={clientOptions(s, { WebSocket: Counting as never })}>
        <Page />
      </LifelineProvider>,
    );
    expect(html).toBe("<p>state idle, tick undefined, echo idle</p>");
    await settle();
    expect(made.count).toBe(0);
    expect(s.server.stats().connections.total).toBe(0);
    expect(s.subscribes.size).toBe(0);

    // The control: the same options, outside React and not lazy, do open one.
    const eager = createClient(clientOptions(s, { WebSocket: Counting as never }));
    disposers.push(() => eager.close());
    await new Promise<void>((resolve) => eager.on("state", (c) => c.next === "open" && resolve()));
    expect(made.count).toBe(1);
  });

  it("renders with a lazy client of the application's and leaves it idle", async () => {
    const s = await startCountingServer();
    disposers.push(() => s.close());
    const { made, WebSocket: Counting } = countingWebSocket();
    const client = createClient(clientOptions(s, { WebSocket: Counting as never, lazy: true }));
    disposers.push(() => client.close());
    const html = renderToString(
      <LifelineProvider client={client}>
        <Page />
      </LifelineProvider>,
    );
    expect(html).toContain("state idle");
    await settle();
    expect(client.status).toBe("idle");
    expect(made.count).toBe(0);
    expect(s.server.stats().connections.total).toBe(0);
  });
});
