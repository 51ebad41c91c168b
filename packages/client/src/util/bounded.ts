import { after, type Clock } from "./clock.js";

/** An application-supplied step (URL or token function, loading `ws`) that did not answer in time. */
export class StepTimeout extends Error {}

/** Resolves like `value`, or rejects with a `StepTimeout` after `ms` on `clock`. */
export function bounded<T>(
  value: T | Promise<T>,
  ms: number,
  clock: Clock,
  what: string,
): Promise<T> {
  if (!(value instanceof Promise)) return Promise.resolve(value);
  return new Promise<T>((resolve, reject) => {
    const stop = after(clock, ms, () =>
      reject(new StepTimeout(`${what} did not answer within ${ms} ms`)),
    );
    value.then(
      (result) => {
        stop();
        resolve(result);
      },
      (error: unknown) => {
        stop();
        reject(error);
      },
    );
  });
}
