import { createClient } from "@lifeline/client";
import { createDisposer, fetchExamplePages, roundTrip } from "@lifeline/test-support";
import { afterEach, expect, it } from "vitest";
import { startApp } from "../src/app.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

it("serves its page, Lifeline's HTTP endpoints and a Lifeline round trip on one port", async () => {
  const app = await startApp(0);
  disposer.add(() => app.close());

  const pages = await fetchExamplePages(app.url);
  expect(pages.page).toMatchObject({
    status: 200,
    text: expect.stringContaining("Lifeline on Fastify 5"),
  });
  expect(pages.health.status).toBe(200);
  expect(JSON.parse(pages.health.text)).toMatchObject({ status: "ok" });
  expect(pages.metrics.text).toContain("lifeline_connections");
  expect(pages.missing.status).toBe(404);

  const client = createClient({ url: app.wsUrl, clientId: "fastify-test" });
  disposer.add(() => client.close());
  expect(await roundTrip(client, "chat/lobby")).toEqual({
    echoed: { text: "ping" },
    delivered: { text: "hello" },
    offset: 1,
  });
});
