import { type Contract, type ErrorBody, ErrorCode } from "@lifeline/protocol";
import type { Clock } from "./clock.js";
import { internalErrorBody, MethodError } from "./errors.js";

/** What a method handler gets besides its params. */
export interface MethodContext<Principal = unknown> {
  readonly principal: Principal;
  readonly clientId: string;
  readonly connectionId: string;
  /** Aborted when the request times out or the connection closes. */
  readonly signal: AbortSignal;
}

export type MethodHandler<Principal = unknown, Params = unknown, Result = unknown> = (
  params: Params,
  context: MethodContext<Principal>,
) => Result | Promise<Result>;

export type RequestOutcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: ErrorBody; readonly cause?: unknown };

export interface RunRequest<Principal> {
  readonly handler: MethodHandler<Principal> | undefined;
  readonly method: string;
  readonly params: unknown;
  readonly context: Omit<MethodContext<Principal>, "signal">;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly contract: Contract | undefined;
  /** Registered by the caller so a closing connection can abort it. */
  readonly controller: AbortController;
}

/**
 * Runs one request to its `response` (issue 3, "Requests"): unknown methods answer
 * `unknown_method`, params failing the contract `invalid_message`, a handler past its
 * timeout `timeout` (its signal aborted), a `MethodError` its own code and message, and
 * anything else `internal` with a generic message (no stack or internals leak).
 */
export async function runRequest<Principal>(
  request: RunRequest<Principal>,
): Promise<RequestOutcome> {
  const { handler, method, params, contract, clock, controller } = request;
  if (!handler) {
    return fail(ErrorCode.UnknownMethod, `no method named "${method}"`);
  }
  if (contract?.hasMethod(method)) {
    const check = contract.checkParams(method, params);
    if (!check.ok) {
      return fail(ErrorCode.InvalidMessage, `"${method}" params: ${check.issue.message}`);
    }
  }
  let timer: unknown;
  const timedOut = new Promise<RequestOutcome>((resolve) => {
    timer = clock.setTimeout(() => {
      controller.abort(new Error(`"${method}" timed out after ${request.timeoutMs} ms`));
      resolve(fail(ErrorCode.Timeout, `"${method}" did not answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
  });
  const run = (async (): Promise<RequestOutcome> => {
    try {
      const result = await handler(params, { ...request.context, signal: controller.signal });
      return { ok: true, result: result === undefined ? null : result };
    } catch (error) {
      if (error instanceof MethodError) {
        // PROTOCOL.md bounds: code 64 characters, message 1024.
        return {
          ok: false,
          error: { code: error.code.slice(0, 64), message: error.message.slice(0, 1024) },
        };
      }
      return { ok: false, error: internalErrorBody, cause: error };
    }
  })();
  try {
    return await Promise.race([run, timedOut]);
  } finally {
    clock.clearTimeout(timer);
  }
}

function fail(code: string, message: string): RequestOutcome {
  return { ok: false, error: { code, message } };
}
