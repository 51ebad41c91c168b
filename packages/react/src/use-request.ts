import type { ClientMethod, RequestOptions } from "@lifeline/client";
import type { ContractSpec, MethodParams, MethodResult } from "@lifeline/protocol";
import { useCallback, useEffect, useRef, useState } from "react";
import { useLifelineContext } from "./context.js";

/** `params` may be left out when the method's params accept `undefined`, as in `client.request()`. */
export type RequestArgs<P> = undefined extends P
  ? [params?: P, options?: RequestOptions]
  : [params: P, options?: RequestOptions];

/** Where the latest call of a `useRequest()` stands. */
export type RequestStatus = "idle" | "pending" | "success" | "error";

/** What `useRequest()` returns. */
export interface RequestResult<P, R> {
  /** Where the latest call stands. */
  readonly status: RequestStatus;
  /** `status === "pending"`. */
  readonly isPending: boolean;
  /** The latest call's result, once it succeeded. */
  readonly data: R | undefined;
  /** Why the latest call failed: a `LifelineError` (`timeout`, `aborted`, the server's code...). */
  readonly error: unknown;
  /**
   * Calls the method; the promise settles like `client.request()`'s, and the outcome also
   * lands in `status`/`data`/`error` when this is still the latest call. Aborted when the
   * component unmounts (or by `options.signal`).
   */
  call(...args: RequestArgs<P>): Promise<R>;
  /** `call()` for event handlers: nothing to await, a failure only lands in `error`. */
  run(...args: RequestArgs<P>): void;
  /** Back to `idle`; a call still in flight no longer updates the state. */
  reset(): void;
}

interface State {
  readonly status: RequestStatus;
  readonly data: unknown;
  readonly error: unknown;
}

const IDLE: State = { status: "idle", data: undefined, error: undefined };
const PENDING: State = { status: "pending", data: undefined, error: undefined };

/**
 * Calls a server method from a component: typed by the client's contract, with the latest
 * call's pending/success/error state, and every call still in flight aborted (rejected
 * with `aborted`) when the component unmounts.
 */
export function useRequest<
  S extends ContractSpec = ContractSpec,
  M extends ClientMethod<S> = ClientMethod<S>,
>(method: M): RequestResult<MethodParams<S, M>, MethodResult<S, M>> {
  const { client } = useLifelineContext("useRequest");
  const [state, setState] = useState<State>(IDLE);
  const inFlight = useRef(new Set<AbortController>());
  const latestCall = useRef(0);
  const unmounted = useRef(false);

  useEffect(() => {
    const calls = inFlight.current;
    unmounted.current = false;
    return () => {
      unmounted.current = true;
      for (const controller of [...calls]) controller.abort();
    };
  }, []);

  const call = useCallback(
    (params?: unknown, options?: RequestOptions): Promise<unknown> => {
      const controller = new AbortController();
      const stopFollowing = follow(options?.signal, controller);
      if (unmounted.current) controller.abort();
      inFlight.current.add(controller);
      latestCall.current += 1;
      const id = latestCall.current;
      const settle = (next: State) => {
        if (id === latestCall.current && !unmounted.current) setState(next);
      };
      settle(PENDING);
      return client
        .request(method as string, params, { ...options, signal: controller.signal })
        .then(
          (data) => {
            settle({ status: "success", data, error: undefined });
            return data;
          },
          (error: unknown) => {
            settle({ status: "error", data: undefined, error });
            throw error;
          },
        )
        .finally(() => {
          inFlight.current.delete(controller);
          stopFollowing();
        });
    },
    [client, method],
  );
  const run = useCallback(
    (params?: unknown, options?: RequestOptions) => {
      call(params, options).catch(() => {
        // Already in `error`: `run` is for callers that do not await.
      });
    },
    [call],
  );
  const reset = useCallback(() => {
    latestCall.current += 1;
    setState(IDLE);
  }, []);

  return {
    status: state.status,
    isPending: state.status === "pending",
    data: state.data as MethodResult<S, M> | undefined,
    error: state.error,
    call: call as RequestResult<MethodParams<S, M>, MethodResult<S, M>>["call"],
    run: run as RequestResult<MethodParams<S, M>, MethodResult<S, M>>["run"],
    reset,
  };
}

/** Aborts `controller` when the caller's own `signal` aborts; returns the undo. */
function follow(signal: RequestOptions["signal"], controller: AbortController): () => void {
  if (!signal) return () => {};
  const abort = () => controller.abort(signal.reason);
  if (signal.aborted) abort();
  else signal.addEventListener("abort", abort, { once: true });
  return () => signal.removeEventListener("abort", abort);
}
