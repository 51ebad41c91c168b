import { afterEach, expect, it } from "vitest";
import { fetchExamplePages } from "./example-pages.js";
import { type RoundTripClient, roundTrip } from "./round-trip.js";
import { connectSse } from "./sse-client.js";
import { createDisposer } from "./within.js";
import { ofType } from "./ws-client.js";

/** A started example app (examples/*): where it listens and how to stop it. */
export interface ExampleApp {
  /** `http://127.0.0.1:<port>`: the page and Lifeline's HTTP endpoints. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/ws`: the Lifeline endpoint. */
  readonly wsUrl: string;
  close(): Promise<void>;
}

export interface ExampleAppTest {
  /** Text the app's page shows, to tell it from a framework's default page. */
  readonly heading: string;
  /** Starts the app on a free port of 127.0.0.1. */
  readonly start: () => Promise<ExampleApp>;
  /** A `@lifeline/client` client of `url` (passed in: this package depends on no Lifeline package). */
  readonly connect: (url: string) => RoundTripClient & { close(): void };
}

/**
 * The test every example app passes: it starts on port 0, serves its page, Lifeline's
 * `/health` and `/metrics` beside the framework's own 404, and a real round trip with
 * `@lifeline/client` (an `echo` request, then a publish to `chat/lobby` that the same client
 * receives through its subscription), then the same by hand over the HTTP fallback.
 */
export function testExampleApp(test: ExampleAppTest): void {
  const disposer = createDisposer();
  afterEach(() => disposer.run());

  it("serves its page, Lifeline's HTTP endpoints and a Lifeline round trip (WebSocket and SSE) on one port", async () => {
    const app = await test.start();
    disposer.add(() => app.close());

    const pages = await fetchExamplePages(app.url);
    expect(pages.page).toMatchObject({ status: 200, text: expect.stringContaining(test.heading) });
    expect(pages.health.status).toBe(200);
    expect(JSON.parse(pages.health.text)).toMatchObject({ status: "ok" });
    expect(pages.metrics.text).toContain("lifeline_connections");
    expect(pages.missing.status).toBe(404);

    const client = test.connect(app.wsUrl);
    disposer.add(() => client.close());
    expect(await roundTrip(client, "chat/lobby")).toEqual({
      echoed: { text: "ping" },
      delivered: { text: "hello" },
      offset: 1,
    });
    await fallbackRoundTrip(Number(new URL(app.url).port), disposer);
  });
}

/**
 * The same through the HTTP fallback (PROTOCOL.md, "HTTP fallback (SSE)") at `/sse`, the
 * sibling of `/ws`: the framework must hand `GET /sse` and `POST /sse/send` to `handleHttp`
 * with the body unread and the stream uncompressed.
 */
async function fallbackRoundTrip(
  port: number,
  disposer: { add(dispose: () => unknown): void },
): Promise<void> {
  const client = await connectSse({ port }, "sse-example", "", { path: "/sse" });
  disposer.add(() => client.close());
  await client.send({ type: "subscribe", id: "s1", topic: "chat/lobby" });
  await client.next(ofType("subscribed"), "subscribed");
  await client.send([
    { type: "request", id: "r1", method: "echo", params: { text: "ping" } },
    { type: "publish", id: "p1", topic: "chat/lobby", data: { text: "over sse" } },
  ]);
  expect(
    await client.next(
      ofType("response", (m) => m.id === "r1"),
      "echo",
    ),
  ).toMatchObject({
    ok: true,
    result: { text: "ping" },
  });
  expect(await client.next(ofType("message"), "the published message")).toMatchObject({
    topic: "chat/lobby",
    data: { text: "over sse" },
  });
}
