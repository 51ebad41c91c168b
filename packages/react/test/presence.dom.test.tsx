// @vitest-environment jsdom
import type { LifelineClient } from "@lifeline/client";
import { cleanup, configure, render, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { renderToString } from "react-dom/server";
import { afterEach, describe, expect, it } from "vitest";
import { LifelineProvider, usePresence } from "../src/index.js";
import { type CountingServer, startCountingServer, testClient } from "./helpers.js";

// usePresence in jsdom under strict mode against a real server on 127.0.0.1 that keeps
// presence for every topic but "secret" (which the counting server forbids).

configure({ asyncUtilTimeout: 10_000 });

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  cleanup();
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

async function server(): Promise<CountingServer> {
  const s = await startCountingServer({ presence: () => true });
  disposers.push(() => s.close());
  return s;
}

function client(s: CountingServer, clientId: string): LifelineClient {
  const c = testClient(s, { clientId });
  disposers.push(() => c.close());
  return c;
}

function Watchers({ topic }: { topic: string }) {
  const { members, known, error } = usePresence(topic);
  if (error) return <p>error: {error.code}</p>;
  if (!known) return <p>watchers: unknown</p>;
  const ids = members.map((m) => m.clientId).sort();
  return <p>watchers: {ids.join(",")}</p>;
}

describe("usePresence", () => {
  it("shows the topic's members, joins and leaves included, with one subscribe under strict mode", async () => {
    const s = await server();
    const page = client(s, "page");
    render(
      <StrictMode>
        <LifelineProvider client={page}>
          <Watchers topic="room" />
          <Watchers topic="room" />
        </LifelineProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(screen.getAllByText("watchers: page")).toHaveLength(2));
    // One `subscribe` with presence, and the `presence` query the client sends after it
    // (authorised like a subscribe): two components and strict mode's double effects add none.
    expect(s.subscribes.get("room")).toBe(2);

    const other = client(s, "other");
    const unsubscribe = other.subscribe("room", () => {});
    await waitFor(() => expect(screen.getAllByText("watchers: other,page")).toHaveLength(2));
    unsubscribe();
    await waitFor(() => expect(screen.getAllByText("watchers: page")).toHaveLength(2));
  });

  it("reports a refusal instead of members", async () => {
    const s = await server();
    render(
      <LifelineProvider client={client(s, "page")}>
        <Watchers topic="secret" />
      </LifelineProvider>,
    );
    await screen.findByText("error: forbidden");
  });

  it("renders no members on the server and opens no socket", async () => {
    const s = await server();
    const lazy = testClient(s, { clientId: "ssr", lazy: true });
    disposers.push(() => lazy.close());
    const html = renderToString(
      <LifelineProvider client={lazy}>
        <Watchers topic="room" />
      </LifelineProvider>,
    );
    expect(html).toContain("watchers: unknown");
    expect(s.server.stats().connections.active).toBe(0);
  });
});
