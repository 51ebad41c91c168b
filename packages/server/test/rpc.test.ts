import { describe, expect, it } from "vitest";
import { MethodError } from "../src/index.js";
import { type RequestOutcome, RequestScope, startRequest } from "../src/rpc.js";
import { createFakeClock } from "./helpers.js";

function run(handler: Parameters<typeof startRequest>[0]["handler"], timeoutMs = 1000) {
  const clock = createFakeClock(0);
  const scope = new RequestScope();
  const outcomes: RequestOutcome[] = [];
  const pending = startRequest(
    {
      handler,
      method: "m",
      params: { x: 1 },
      principal: "p",
      clientId: "c",
      connectionId: "k",
      timeoutMs,
      clock,
      contract: undefined,
      scope,
    },
    (outcome) => outcomes.push(outcome),
  );
  return { clock, scope, outcomes, pending };
}

describe("startRequest", () => {
  it("answers a plain return value at once, with no timer", () => {
    const r = run((params) => params);
    expect(r.pending).toBe(false);
    expect(r.outcomes).toEqual([{ ok: true, result: { x: 1 } }]);
    expect(r.clock.pending).toBe(0);
  });

  it("sends null for undefined results", () => {
    expect(run(() => undefined).outcomes).toEqual([{ ok: true, result: null }]);
  });

  it("answers a promise when it settles and clears its timer", async () => {
    const r = run(async () => 42);
    expect(r.pending).toBe(true);
    await Promise.resolve();
    await Promise.resolve();
    expect(r.outcomes).toEqual([{ ok: true, result: 42 }]);
    expect(r.clock.pending).toBe(0);
  });

  it("answers timeout once and aborts the signal the handler holds", () => {
    let signal: AbortSignal | undefined;
    const r = run((_params, ctx) => {
      signal = ctx.signal;
      return new Promise(() => {});
    }, 500);
    r.clock.advance(500);
    expect(r.outcomes).toEqual([
      { ok: false, error: { code: "timeout", message: '"m" did not answer within 500 ms' } },
    ]);
    expect(signal?.aborted).toBe(true);
  });

  it("makes the signal only when read, born aborted after an abort", () => {
    const scope = new RequestScope();
    scope.abort(new Error("gone"));
    expect(scope.signal.aborted).toBe(true);
    expect((scope.signal.reason as Error).message).toBe("gone");
  });

  it("answers a MethodError with its code and message, anything else internal", () => {
    expect(
      run(() => {
        throw new MethodError("bad_target", "dec above 90");
      }).outcomes,
    ).toEqual([{ ok: false, error: { code: "bad_target", message: "dec above 90" } }]);
    const thrown = run(() => {
      throw new Error("secret detail");
    }).outcomes[0];
    expect(thrown).toMatchObject({
      ok: false,
      error: { code: "internal", message: "internal server error" },
    });
    expect(JSON.stringify((thrown as { error: unknown }).error)).not.toContain("secret");
  });

  it("answers unknown_method without a handler", () => {
    expect(run(undefined).outcomes).toEqual([
      { ok: false, error: { code: "unknown_method", message: 'no method named "m"' } },
    ]);
  });
});
