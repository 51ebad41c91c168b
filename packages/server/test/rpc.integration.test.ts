import { afterEach, describe, expect, it } from "vitest";
import {
  captureLogs,
  connect,
  createDisposer,
  createFakeClock,
  ofType,
  serverClosedAfterEach,
  within,
} from "./helpers.js";

const disposer = createDisposer();
afterEach(() => disposer.run());

const server = serverClosedAfterEach(disposer);

describe("requests", () => {
  it("gives handlers params, principal, client and connection ids", async () => {
    const s = await server({ authenticate: () => ({ id: "ada" }) });
    s.method("whoami", (params, ctx) => ({
      params,
      principal: ctx.principal,
      clientId: ctx.clientId,
      connectionId: ctx.connectionId,
      aborted: ctx.signal.aborted,
    }));
    const c = await connect(s, "tab-1");
    disposer.add(() => c.close());
    c.send({ type: "request", id: "r", method: "whoami", params: [1, 2] });
    expect((await c.next(ofType("response"))).result).toEqual({
      params: [1, 2],
      principal: { id: "ada" },
      clientId: "tab-1",
      connectionId: c.hello.connection_id,
      aborted: false,
    });
  });

  it("answers timeout after timeout_ms and aborts the handler's signal", async () => {
    const clock = createFakeClock();
    const s = await server({ clock, heartbeat: { intervalMs: 0 } });
    let signal: AbortSignal | undefined;
    const started = new Promise<void>((resolve) => {
      s.method("slow", (_params, ctx) => {
        signal = ctx.signal;
        resolve();
        return new Promise(() => {});
      });
    });
    const c = await connect(s, "waiter");
    disposer.add(() => c.close());
    c.send({ type: "request", id: "r", method: "slow", timeout_ms: 500 });
    await within(started, "handler start");
    clock.advance(499);
    expect(signal?.aborted).toBe(false);
    clock.advance(1);
    expect(await c.next(ofType("response"))).toEqual({
      type: "response",
      id: "r",
      ok: false,
      error: { code: "timeout", message: '"slow" did not answer within 500 ms' },
    });
    expect(signal?.aborted).toBe(true);
  });

  it("caps timeout_ms at the server's request timeout", async () => {
    const clock = createFakeClock();
    const s = await server({
      clock,
      heartbeat: { intervalMs: 0 },
      limits: { requestTimeoutMs: 1000 },
    });
    const started = new Promise<void>((resolve) => {
      s.method("slow", () => {
        resolve();
        return new Promise(() => {});
      });
    });
    const c = await connect(s, "waiter");
    disposer.add(() => c.close());
    c.send({ type: "request", id: "r", method: "slow", timeout_ms: 60_000 });
    await within(started, "handler start");
    clock.advance(1000);
    expect(await c.next(ofType("response"))).toMatchObject({ error: { code: "timeout" } });
  });

  it("answers internal without the error's message or stack, and logs the error", async () => {
    const logs = captureLogs();
    const s = await server({ logger: logs.logger });
    s.method("boom", () => {
      throw new Error("password=hunter2 at /srv/app.js:12");
    });
    const c = await connect(s, "victim");
    disposer.add(() => c.close());
    c.send({ type: "request", id: "r", method: "boom" });
    const response = await c.next(ofType("response"));
    expect(response).toEqual({
      type: "response",
      id: "r",
      ok: false,
      error: { code: "internal", message: "internal server error" },
    });
    expect(JSON.stringify(response)).not.toContain("hunter2");
    const line = await logs.waitFor((l) => l.msg === "method handler failed");
    expect(line.level).toBe(50);
  });

  it("aborts in-flight handlers when the connection closes", async () => {
    const s = await server();
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const aborted = new Promise<unknown>((resolve) => {
      s.method("wait", (_params, ctx) => {
        ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason));
        started();
        return new Promise(() => {});
      });
    });
    const c = await connect(s, "leaver");
    c.send({ type: "request", id: "r", method: "wait" });
    await within(running, "handler start");
    c.terminate();
    expect(await within(aborted, "abort")).toBeInstanceOf(Error);
  });

  it("validates params against the contract", async () => {
    const { defineContract, Offset } = await import("@lifeline/protocol");
    const contract = defineContract({ methods: { double: { params: Offset, result: Offset } } });
    const s = await server({ contract });
    s.method("double", (n) => (n as number) * 2);
    const c = await connect(s, "typed");
    disposer.add(() => c.close());
    c.send({ type: "request", id: "bad", method: "double", params: "two" });
    expect(await c.next(ofType("response"))).toMatchObject({
      id: "bad",
      ok: false,
      error: { code: "invalid_message" },
    });
    c.send({ type: "request", id: "good", method: "double", params: 2 });
    expect(await c.next(ofType("response"))).toMatchObject({ id: "good", ok: true, result: 4 });
  });

  it("stops answering a method once its registration is undone", async () => {
    const s = await server();
    const undo = s.method("temp", () => "here");
    const c = await connect(s, "a");
    disposer.add(() => c.close());
    c.send({ type: "request", id: "1", method: "temp" });
    expect(await c.next(ofType("response"))).toMatchObject({ ok: true, result: "here" });
    undo();
    c.send({ type: "request", id: "2", method: "temp" });
    expect(await c.next(ofType("response"))).toMatchObject({
      ok: false,
      error: { code: "unknown_method" },
    });
  });
});
