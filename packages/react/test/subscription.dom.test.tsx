// @vitest-environment jsdom
import type { LifelineClient } from "@lifeline/client";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { LifelineProvider, useConnection, useSubscription } from "../src/index.js";
import { type CountingServer, clientOptions, startCountingServer, testClient } from "./helpers.js";

// The hooks in jsdom, mounted by @testing-library/react under strict mode (development
// build: every effect runs, is cleaned up and runs again), against a real server on
// 127.0.0.1 that counts the `subscribe`s reaching it.

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  cleanup();
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function server(options: Parameters<typeof startCountingServer>[0] = {}) {
  const s = await startCountingServer(options);
  disposers.push(() => s.close());
  return s;
}

async function openClient(s: CountingServer): Promise<LifelineClient> {
  const client = testClient(s);
  disposers.push(() => client.close());
  await waitFor(() => expect(client.status).toBe("open"));
  return client;
}

function Latest({
  topic,
  rewind,
  label = topic,
}: {
  topic: string;
  rewind?: number;
  label?: string;
}) {
  const { data, meta } = useSubscription(topic, rewind === undefined ? {} : { rewind });
  return <p>{meta ? `${label}: ${JSON.stringify(data)} @${meta.offset}` : `${label}: none`}</p>;
}

function Status() {
  const { state } = useConnection();
  return <p>state: {state}</p>;
}

describe("useSubscription", () => {
  it("subscribes once per topic under strict mode, however many components use it", async () => {
    const s = await server();
    await s.server.publish("ticks", 1);
    const client = await openClient(s);
    render(
      <StrictMode>
        <LifelineProvider client={client}>
          <Latest topic="ticks" rewind={1} label="a" />
          <Latest topic="ticks" rewind={1} label="b" />
          <Latest topic="other" />
        </LifelineProvider>
      </StrictMode>,
    );
    await screen.findByText("a: 1 @1");
    await screen.findByText("b: 1 @1");
    await act(() => s.server.publish("ticks", 2));
    await screen.findByText("a: 2 @2");
    await screen.findByText("b: 2 @2");
    await waitFor(() => expect(s.subscribes.get("other")).toBe(1));
    expect(s.subscribes.get("ticks")).toBe(1);
    const [connection] = s.server.connections();
    expect([...(connection?.subscriptions ?? [])].sort()).toEqual(["other", "ticks"]);
  });

  it("subscribes once with a provider-made client that is still connecting", async () => {
    const s = await server();
    await s.server.publish("ticks", "first");
    render(
      <StrictMode>
        <LifelineProvider options={clientOptions(s)}>
          <Status />
          <Latest topic="ticks" rewind={1} />
        </LifelineProvider>
      </StrictMode>,
    );
    await screen.findByText('ticks: "first" @1');
    expect(screen.getByText("state: open")).toBeTruthy();
    expect(s.subscribes.get("ticks")).toBe(1);
    expect(s.server.stats().connections.total).toBe(1);
  });

  it("unsubscribes when the last component of a topic unmounts, and subscribes again on return", async () => {
    const s = await server();
    const client = await openClient(s);
    const app = (show: boolean) => (
      <StrictMode>
        <LifelineProvider client={client}>
          {show ? <Latest topic="ticks" /> : null}
        </LifelineProvider>
      </StrictMode>
    );
    const { rerender } = render(app(true));
    await waitFor(() => expect(s.server.connections()[0]?.subscriptions.has("ticks")).toBe(true));
    rerender(app(false));
    await waitFor(() => expect(s.server.connections()[0]?.subscriptions.size).toBe(0));
    rerender(app(true));
    await waitFor(() => expect(s.server.connections()[0]?.subscriptions.has("ticks")).toBe(true));
    expect(s.subscribes.get("ticks")).toBe(2);
  });
});
