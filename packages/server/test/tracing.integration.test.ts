import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthError, MethodError } from "../src/index.js";
import { connect, createDisposer, ofType, openHandshake, startServer, within } from "./helpers.js";

const disposer = createDisposer();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer("test");

// Nesting needs a context manager, as an application's SDK setup installs one.
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});
afterEach(async () => {
  await disposer.run();
  exporter.reset();
});

async function server(options: Parameters<typeof startServer>[0] = {}) {
  const s = await startServer({ tracer, ...options });
  disposer.add(() => s.close({ drainTimeoutMs: 200, batchIntervalMs: 0 }));
  return s;
}

const spansNamed = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

describe("request spans", () => {
  it("traces each request as a server span, failed ones with their error code", async () => {
    const s = await server();
    s.method("add", () => 3);
    s.method("refuse", () => {
      throw new MethodError("not_allowed", "no");
    });
    const c = await connect(s, "traced");
    disposer.add(() => c.close());
    for (const [id, method] of [
      ["1", "add"],
      ["2", "refuse"],
      ["3", "invented"],
    ]) {
      c.send({ type: "request", id, method });
      await c.next(ofType("response"));
    }

    const [ok] = spansNamed("lifeline.rpc add");
    expect(ok?.kind).toBe(SpanKind.SERVER);
    expect(ok?.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(ok?.attributes).toMatchObject({
      "rpc.system": "lifeline",
      "rpc.method": "add",
      "lifeline.client_id": "traced",
    });
    const [refused] = spansNamed("lifeline.rpc refuse");
    expect(refused?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "no" });
    expect(refused?.attributes["lifeline.error_code"]).toBe("not_allowed");
    // A name a client made up does not become a span name.
    expect(spansNamed("lifeline.rpc (unknown)")).toHaveLength(1);
    expect(spansNamed("lifeline.rpc invented")).toHaveLength(0);
  });

  it("makes the request span active while the handler runs, so the handler's spans nest", async () => {
    const s = await server();
    s.method("lookup", async () => {
      await tracer.startActiveSpan("db.query", async (span) => {
        await new Promise((resolve) => setImmediate(resolve));
        span.end();
      });
      return trace.getActiveSpan()?.spanContext().spanId ?? null;
    });
    const c = await connect(s, "nested");
    disposer.add(() => c.close());
    c.send({ type: "request", id: "1", method: "lookup" });
    const { result } = await c.next(ofType("response"));
    const [rpc] = spansNamed("lifeline.rpc lookup");
    const [query] = spansNamed("db.query");
    expect(result).toBe(rpc?.spanContext().spanId);
    expect(query?.parentSpanContext?.spanId).toBe(rpc?.spanContext().spanId);
  });
});

describe("publish spans", () => {
  it("traces the server's publish as a producer span with its topic and offset", async () => {
    const s = await server();
    await s.publish("news", { n: 1 });
    await s.publish("news", { n: 2 });
    const spans = spansNamed("lifeline.publish");
    expect(spans.map((span) => span.kind)).toEqual([SpanKind.PRODUCER, SpanKind.PRODUCER]);
    expect(spans.map((span) => span.attributes)).toEqual([
      expect.objectContaining({ "messaging.destination.name": "news", "lifeline.offset": 1 }),
      expect.objectContaining({ "messaging.destination.name": "news", "lifeline.offset": 2 }),
    ]);
  });
});

describe("handshake spans", () => {
  it("traces authenticate, a refusal marked with its close code", async () => {
    const s = await server({
      authenticate: (_request, { token }) => {
        if (token !== "good") throw new AuthError("bad token");
        return "user";
      },
    });
    const accepted = await connect(s, "welcome", "&token=good");
    disposer.add(() => accepted.close());
    const refused = await openHandshake(s, "client_id=intruder&version=1&role=test&token=bad");
    await within(refused.closed, "refusal");

    const spans = spansNamed("lifeline.handshake");
    const byClient = (id: string) =>
      spans.find((span) => span.attributes["lifeline.client_id"] === id);
    expect(byClient("welcome")?.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(byClient("welcome")?.attributes).toMatchObject({ "lifeline.role": "test" });
    expect(byClient("intruder")?.status.code).toBe(SpanStatusCode.ERROR);
    expect(byClient("intruder")?.attributes["lifeline.error_code"]).toBe("4401");
  });
});

describe("without a tracer", () => {
  it("uses the global tracer, which records nothing while no SDK is registered", async () => {
    const s = await startServer();
    disposer.add(() => s.close({ drainTimeoutMs: 200, batchIntervalMs: 0 }));
    s.method("add", () => 3);
    await s.publish("news", { n: 1 });
    const c = await connect(s, "untraced");
    disposer.add(() => c.close());
    c.send({ type: "request", id: "1", method: "add" });
    expect((await c.next(ofType("response"))).result).toBe(3);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
