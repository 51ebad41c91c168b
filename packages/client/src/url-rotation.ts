/** Context passed to a `url` function before each attempt. */
export interface UrlContext {
  /** Retries since the connection was last healthy (0 for the first attempt). */
  readonly attempt: number;
  /** The URL of the previous attempt, if any. */
  readonly previous?: string;
}

/** A function that picks the server URL before each attempt (may be async: service discovery). */
export type UrlProvider = (context: UrlContext) => string | Promise<string>;

/** `url` option: one server, several nodes rotated on failure, or a function. */
export type UrlOption = string | readonly string[] | UrlProvider;

export interface UrlRotation {
  /** The URL for the next attempt. */
  resolve(attempt: number): Promise<string>;
  /** The attempt failed: the next `resolve` moves to the next URL of a list. */
  rotate(): void;
  /** The URL most recently resolved. */
  readonly current: string | undefined;
}

export function createUrlRotation(option: UrlOption): UrlRotation {
  if (typeof option !== "function" && typeof option !== "string" && option.length === 0) {
    throw new TypeError("createClient expects `url` to list at least one URL, got an empty list");
  }
  let index = 0;
  let current: string | undefined;
  return {
    get current() {
      return current;
    },
    async resolve(attempt) {
      let url: string;
      if (typeof option === "string") url = option;
      else if (typeof option === "function") {
        url = await option(current === undefined ? { attempt } : { attempt, previous: current });
      } else url = option[index % option.length] as string;
      current = url;
      return url;
    },
    rotate() {
      if (typeof option !== "string" && typeof option !== "function") {
        index = (index + 1) % option.length;
      }
    },
  };
}
