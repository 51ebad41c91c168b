import { afterEach, describe, expect, it, vi } from "vitest";
import { exponential } from "../src/policies.js";
import { seededRandom } from "../src/random.js";
import { abortableSleep, retry } from "../src/retry.js";

const noSleep = (waits: number[]) => async (ms: number) => {
  waits.push(ms);
};

afterEach(() => {
  vi.useRealTimers();
});

describe("retry", () => {
  it("returns the first success and waits the policy's delays between failures", async () => {
    const waits: number[] = [];
    const policy = exponential({ baseMs: 10, jitter: "none" });
    const result = await retry(
      ({ attempt }) => {
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return "ok";
      },
      { policy, sleep: noSleep(waits) },
    );
    expect(result).toBe("ok");
    expect(waits).toEqual([10, 20, 40]);
  });

  it("rejects with the last error once attempts are spent", async () => {
    const calls: number[] = [];
    const promise = retry(
      ({ attempt }) => {
        calls.push(attempt);
        throw new Error(`fail ${attempt}`);
      },
      { policy: exponential({ maxAttempts: 2 }), sleep: noSleep([]), random: seededRandom(1) },
    );
    await expect(promise).rejects.toThrow("fail 2");
    expect(calls).toEqual([0, 1, 2]);
  });

  it("stops at once when shouldRetry says no", async () => {
    let calls = 0;
    const promise = retry(
      () => {
        calls++;
        throw new TypeError("fatal");
      },
      { shouldRetry: (error) => !(error instanceof TypeError), sleep: noSleep([]) },
    );
    await expect(promise).rejects.toThrow("fatal");
    expect(calls).toBe(1);
  });

  it("reports each retry", async () => {
    const seen: Array<[string, number]> = [];
    await retry(
      ({ attempt }) => {
        if (attempt === 0) throw new Error("once");
        return 1;
      },
      {
        policy: exponential({ baseMs: 5, jitter: "none" }),
        sleep: noSleep([]),
        onRetry: (error, delayMs) => seen.push([(error as Error).message, delayMs]),
      },
    );
    expect(seen).toEqual([["once", 5]]);
  });

  it("aborts while waiting, with the signal's reason", async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const promise = retry(
      () => {
        throw new Error("down");
      },
      { policy: exponential({ baseMs: 10_000, jitter: "none" }), signal: controller.signal },
    );
    const assertion = expect(promise).rejects.toThrow("stop");
    await vi.advanceTimersByTimeAsync(5_000);
    controller.abort(new Error("stop"));
    await assertion;
  });

  it("does not call fn when the signal is already aborted", async () => {
    let calls = 0;
    const promise = retry(() => ++calls, { signal: AbortSignal.abort(new Error("already")) });
    await expect(promise).rejects.toThrow("already");
    expect(calls).toBe(0);
  });
});

describe("abortableSleep", () => {
  it("resolves after the delay", async () => {
    vi.useFakeTimers();
    let done = false;
    const p = abortableSleep(1000, new AbortController().signal).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });
});
