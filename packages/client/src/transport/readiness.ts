import type { TransitionCause } from "../state/machine.js";
import { after, type Clock } from "../util/clock.js";

type FetchLike = (
  url: string,
  init: { method: string; signal?: unknown; cache?: string },
) => Promise<{ ok: boolean; status: number; body?: { cancel?: () => unknown } | null }>;

/**
 * Checks an HTTP health URL before an upgrade attempt, so a client does not open (and the
 * server does not accept and then refuse) sockets while a node is starting or draining.
 * Resolves `undefined` when ready, else the cause of the failed attempt.
 */
export async function probeReadiness(
  url: string,
  timeoutMs: number,
  clock: Clock,
): Promise<TransitionCause | undefined> {
  const fetchFn = (globalThis as { fetch?: FetchLike }).fetch;
  if (!fetchFn) return undefined;
  const controller = new AbortController();
  let timedOut = false;
  const stop = after(clock, timeoutMs, () => {
    timedOut = true;
    controller.abort();
  });
  try {
    const response = await fetchFn(url, {
      method: "GET",
      signal: controller.signal,
      cache: "no-store",
    });
    await response.body?.cancel?.();
    if (response.ok) return undefined;
    return {
      reason: `the readiness probe answered HTTP ${response.status}`,
      errorClass: "server_error",
    };
  } catch (error) {
    return timedOut
      ? {
          reason: `the readiness probe got no answer within ${timeoutMs} ms`,
          errorClass: "timeout",
        }
      : {
          reason: `the readiness probe failed: ${error instanceof Error ? error.message : String(error)}`,
          errorClass: "network",
        };
  } finally {
    stop();
  }
}
