/** Rejects with `label` when `promise` has not settled within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, label: string, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise with its resolve exposed, for "wait until this event happened". */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly settled: boolean;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  let settled = false;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {
    promise,
    get settled() {
      return settled;
    },
    resolve(value) {
      settled = true;
      resolve(value);
    },
    reject(error) {
      settled = true;
      reject(error);
    },
  };
}

/**
 * Counts events towards a target: `hit()` from an event handler, `reached` resolves when
 * the count gets there. For "all 2,000 clients are open again" without polling.
 */
export interface Countdown {
  readonly count: number;
  readonly reached: Promise<void>;
  hit(): void;
}

export function countdown(target: number): Countdown {
  const done = deferred();
  let count = 0;
  if (target <= 0) done.resolve();
  return {
    get count() {
      return count;
    },
    reached: done.promise,
    hit() {
      count += 1;
      if (count >= target && !done.settled) done.resolve();
    },
  };
}
