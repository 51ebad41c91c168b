import { type Contract, type ErrorBody, ErrorCode } from "@lifeline/protocol";
import type { Clock, TimerHandle } from "./clock.js";
import { internalErrorBody, MethodError } from "./errors.js";
import { endSpan, type Tracer, traceRequest, UNKNOWN_METHOD } from "./tracing.js";

/** What a method handler gets besides its params. */
export interface MethodContext<Principal = unknown> {
  /** What `authenticate` returned for this connection. */
  readonly principal: Principal;
  /** The caller's `client_id`. */
  readonly clientId: string;
  /** The caller's connection id. */
  readonly connectionId: string;
  /** Aborted when the request times out or the connection closes. */
  readonly signal: AbortSignal;
}

/**
 * A method's handler: gets the params and the caller's context, returns the result (or a promise of
 * it).
 */
export type MethodHandler<Principal = unknown, Params = unknown, Result = unknown> = (
  params: Params,
  context: MethodContext<Principal>,
) => Result | Promise<Result>;

export type RequestOutcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: ErrorBody; readonly cause?: unknown };

/**
 * The cancellation side of one request. The AbortController is made only when the
 * handler reads `signal` (most handlers never do, and one per request is a measurable
 * share of a round trip); an abort before that leaves the signal born aborted.
 */
export class RequestScope {
  private controller: AbortController | undefined;
  private reason: unknown;
  private aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/** A class, not a literal with a getter: it is made for every request. */
class Context<Principal> implements MethodContext<Principal> {
  constructor(
    readonly principal: Principal,
    readonly clientId: string,
    readonly connectionId: string,
    private readonly scope: RequestScope,
  ) {}

  get signal(): AbortSignal {
    return this.scope.signal;
  }
}

export interface StartRequest<Principal> {
  readonly handler: MethodHandler<Principal> | undefined;
  readonly method: string;
  readonly params: unknown;
  readonly principal: Principal;
  readonly clientId: string;
  readonly connectionId: string;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly contract: Contract | undefined;
  readonly scope: RequestScope;
  /** Traces the request as a span, active while the handler runs. @default no span */
  readonly tracer?: Tracer;
}

/**
 * Runs one request to its `response` (PROTOCOL.md, "Messages"): unknown methods answer
 * `unknown_method`, params failing the contract `invalid_message`, a handler past its
 * timeout `timeout` (its signal aborted), a `MethodError` its own code and message, and
 * anything else `internal` with a generic message (no stack or internals leak).
 * A handler that returns a plain value is answered at once, with no timer or promise;
 * `answer` is called exactly once. Returns true when the answer is still to come.
 */
export function startRequest<Principal>(
  request: StartRequest<Principal>,
  answer: (outcome: RequestOutcome) => void,
): boolean {
  const { tracer } = request;
  if (tracer === undefined) return runRequest(request, answer);
  const method = request.handler === undefined ? UNKNOWN_METHOD : request.method;
  return traceRequest(tracer, { ...request, method }, (span) =>
    runRequest(request, (outcome) => {
      if (outcome.ok) endSpan(span);
      else endSpan(span, outcome.error.code, outcome.error.message);
      answer(outcome);
    }),
  );
}

function runRequest<Principal>(
  request: StartRequest<Principal>,
  answer: (outcome: RequestOutcome) => void,
): boolean {
  const { handler, method, params, contract, clock, scope } = request;
  if (!handler) {
    answer(fail(ErrorCode.UnknownMethod, `no method named "${method}"`));
    return false;
  }
  if (contract?.hasMethod(method)) {
    const check = contract.checkParams(method, params);
    if (!check.ok) {
      answer(fail(ErrorCode.InvalidMessage, `"${method}" params: ${check.issue.message}`));
      return false;
    }
  }
  let result: unknown;
  try {
    result = handler(
      params,
      new Context(request.principal, request.clientId, request.connectionId, scope),
    );
  } catch (error) {
    answer(failure(error));
    return false;
  }
  if (!isThenable(result)) {
    answer(success(result));
    return false;
  }
  let settled = false;
  const timer: TimerHandle = clock.setTimeout(() => {
    if (settled) return;
    settled = true;
    scope.abort(new Error(`"${method}" timed out after ${request.timeoutMs} ms`));
    answer(fail(ErrorCode.Timeout, `"${method}" did not answer within ${request.timeoutMs} ms`));
  }, request.timeoutMs);
  result.then(
    (value) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      answer(success(value));
    },
    (error: unknown) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      answer(failure(error));
    },
  );
  return true;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function success(result: unknown): RequestOutcome {
  // PROTOCOL.md: an ok response always carries `result`; JSON has no undefined.
  return { ok: true, result: result === undefined ? null : result };
}

function failure(error: unknown): RequestOutcome {
  if (error instanceof MethodError) {
    // PROTOCOL.md bounds: code 64 characters, message 1024.
    return {
      ok: false,
      error: { code: error.code.slice(0, 64), message: error.message.slice(0, 1024) },
    };
  }
  return { ok: false, error: internalErrorBody, cause: error };
}

function fail(code: string, message: string): RequestOutcome {
  return { ok: false, error: { code, message } };
}
