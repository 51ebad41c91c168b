// @vitest-environment jsdom
import type { GapEvent, LifelineClient } from "@lifeline/client";
import type { ResumePoint } from "@lifeline/protocol";
import { act, cleanup, configure, render, screen, waitFor } from "@testing-library/react";
import { StrictMode, useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LifelineProvider, useConnection, useSubscription } from "../src/index.js";
import { type CountingServer, clientOptions, startCountingServer, testClient } from "./helpers.js";

// The hooks in jsdom, mounted by @testing-library/react under strict mode (development
// build: every effect runs, is cleaned up and runs again), against a real server on
// 127.0.0.1 that counts the `subscribe`s reaching it.

// Waits end on the awaited event; the bound is only for a loaded machine (the default, 1 s,
// is shorter than a connection takes on two busy cores).
configure({ asyncUtilTimeout: 10_000 });

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

function Log() {
  const { messages } = useSubscription("log", { rewind: 5, keep: 3 });
  return <p>log: {messages.map((m) => `${m.data as number}@${m.meta.offset}`).join(",")}</p>;
}

function History() {
  const { messages } = useSubscription("history", { keep: 10 });
  return <p>history: {messages.map((m) => m.data as number).join(",")}</p>;
}

function ShowLater() {
  const [shown, setShown] = useState(false);
  return shown ? (
    <Latest topic="ticks" label="later" />
  ) : (
    <button type="button" onClick={() => setShown(true)}>
      show
    </button>
  );
}

function Resumed({ since, onGap }: { since: ResumePoint; onGap: (gap: GapEvent) => void }) {
  const { data, gap, gaps } = useSubscription("log", { since, onGap });
  const lost = gap?.lost ? `${gap.lost.fromOffset}-${gap.lost.toOffset}` : "none";
  return <p>{`latest ${String(data)}, ${gaps} gap(s), ${gap?.reason ?? "-"} lost ${lost}`}</p>;
}

function Secret() {
  const { error } = useSubscription("secret");
  return <p>{error ? `refused: ${error.code}` : "waiting"}</p>;
}

function Maybe({ topic }: { topic: string | null }) {
  const { data } = useSubscription(topic, { rewind: 1 });
  return <p>maybe: {String(data)}</p>;
}

function BadKeep() {
  useSubscription("ticks", { keep: 0 });
  return null;
}

/** Every distinct state `StateRecorder` rendered, in order. */
const rendered: string[] = [];
function StateRecorder() {
  const { state } = useConnection();
  if (rendered.at(-1) !== state) rendered.push(state);
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

  it("keeps a bounded list of the latest messages", async () => {
    const s = await server();
    for (let i = 1; i <= 5; i++) await s.server.publish("log", i);
    const client = await openClient(s);
    render(
      <StrictMode>
        <LifelineProvider client={client}>
          <Log />
        </LifelineProvider>
      </StrictMode>,
    );
    await screen.findByText("log: 3@3,4@4,5@5");
    await act(() => s.server.publish("log", 6));
    await screen.findByText("log: 4@4,5@5,6@6");
  });

  it("delivers across a reconnect with nothing lost or repeated", async () => {
    const s = await server();
    const client = await openClient(s);
    render(
      <StrictMode>
        <LifelineProvider client={client}>
          <History />
        </LifelineProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(s.server.connections()[0]?.subscriptions.has("history")).toBe(true));
    await act(async () => {
      await s.server.publish("history", 1);
      await s.server.publish("history", 2);
    });
    await screen.findByText("history: 1,2");
    // Dropped and replaced: what is published meanwhile comes back through `since`.
    act(() => client.reconnect());
    await act(async () => {
      await s.server.publish("history", 3);
      await s.server.publish("history", 4);
    });
    await screen.findByText("history: 1,2,3,4");
    await waitFor(() => expect(s.server.stats().connections.total).toBe(2));
    await act(() => s.server.publish("history", 5));
    await screen.findByText("history: 1,2,3,4,5");
  });

  it("gives a component that mounts later what the provider already holds", async () => {
    const s = await server();
    await s.server.publish("ticks", "kept");
    const client = await openClient(s);
    render(
      <StrictMode>
        <LifelineProvider client={client}>
          <Latest topic="ticks" rewind={1} label="first" />
          <ShowLater />
        </LifelineProvider>
      </StrictMode>,
    );
    await screen.findByText('first: "kept" @1');
    act(() => screen.getByText("show").click());
    expect(screen.getByText('later: "kept" @1')).toBeTruthy();
    expect(s.subscribes.get("ticks")).toBe(1);
  });

  it("surfaces a gap when history no longer reaches back to `since`", async () => {
    const s = await server({ history: { maxMessages: 2, maxAgeMs: 60_000 } });
    let epoch = "";
    for (let i = 1; i <= 5; i++) epoch = (await s.server.publish("log", i)).epoch;
    const client = await openClient(s);
    const gaps: GapEvent[] = [];
    render(
      <StrictMode>
        <LifelineProvider client={client}>
          <Resumed since={{ offset: 1, epoch }} onGap={(gap) => gaps.push(gap)} />
        </LifelineProvider>
      </StrictMode>,
    );
    await screen.findByText("latest 5, 1 gap(s), history_expired lost 2-3");
    expect(gaps.map((g) => g.lost)).toEqual([{ epoch, fromOffset: 2, toOffset: 3 }]);
  });

  it("reports a refused subscription as `error`", async () => {
    const s = await server();
    const client = await openClient(s);
    render(
      <StrictMode>
        <LifelineProvider client={client}>
          <Secret />
        </LifelineProvider>
      </StrictMode>,
    );
    await screen.findByText("refused: forbidden");
    expect(s.subscribes.get("secret")).toBe(1);
  });

  it("subscribes to nothing for a `null` topic", async () => {
    const s = await server();
    const client = await openClient(s);
    await s.server.publish("ticks", 7);
    const app = (topic: string | null) => (
      <StrictMode>
        <LifelineProvider client={client}>
          <Maybe topic={topic} />
        </LifelineProvider>
      </StrictMode>
    );
    const { rerender } = render(app(null));
    expect(screen.getByText("maybe: undefined")).toBeTruthy();
    rerender(app("ticks"));
    await screen.findByText("maybe: 7");
    expect([...s.subscribes.keys()]).toEqual(["ticks"]);
  });

  it("refuses a `keep` that is not a count", async () => {
    const s = await server();
    const client = await openClient(s);
    // React logs what a render threw before rethrowing it.
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(() =>
      render(
        <LifelineProvider client={client}>
          <BadKeep />
        </LifelineProvider>,
      ),
    ).toThrow(/"keep" to be an integer from 1 to 10000/);
  });
});

describe("useConnection", () => {
  it("follows the client's state, and the provider closes the client it made on unmount", async () => {
    const s = await server();
    const { unmount } = render(
      <StrictMode>
        <LifelineProvider options={clientOptions(s)}>
          <StateRecorder />
        </LifelineProvider>
      </StrictMode>,
    );
    await screen.findByText("state: open");
    expect(rendered).toEqual(["idle", "connecting", "open"]);
    expect(s.server.stats().connections.total).toBe(1);
    unmount();
    await waitFor(() => expect(s.server.connections()).toHaveLength(0));
  });

  it("says which hook was used outside a provider", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(() => render(<Status />)).toThrow(
      "useConnection() must be called inside a <LifelineProvider>",
    );
  });
});
