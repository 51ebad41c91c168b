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

/** How an attempt ended, as far as choosing the next URL goes. */
export interface AttemptOutcome {
  /** The server's `hello` arrived: the connection was up. */
  readonly greeted: boolean;
  /** The node said it cannot serve now (HTTP 503 on the upgrade, `shutdown`, 1012). */
  readonly unavailable?: boolean;
}

export interface UrlRotation {
  /** The URL for the next attempt. */
  resolve(attempt: number): Promise<string>;
  /**
   * Moves on after an attempt ended; true when the next URL should be tried at once.
   *
   * A node that says it is unavailable sends the client to the next URL of a list without
   * a backoff delay, as long as some URL has not refused yet in this round: a node that
   * lost its broker refuses everyone, and waiting before asking a healthy one only
   * prolongs the outage (PROTOCOL.md, "Refused before the upgrade"). Once every URL has
   * refused in a row, the round ends and the caller backs off. Any other ending starts a
   * new round; a failed attempt still moves to the next URL, after the usual backoff.
   * A single URL or a `url` function is a round of one: every refusal backs off.
   */
  advance(outcome: AttemptOutcome): boolean;
  /** The URL most recently resolved. */
  readonly current: string | undefined;
}

export function createUrlRotation(option: UrlOption): UrlRotation {
  if (typeof option !== "function" && typeof option !== "string" && option.length === 0) {
    throw new TypeError("createClient expects `url` to list at least one URL, got an empty list");
  }
  const roundSize = typeof option === "function" || typeof option === "string" ? 1 : option.length;
  let index = 0;
  /** URLs that refused as unavailable in a row, since the last other ending. */
  let refusedInRound = 0;
  let current: string | undefined;
  const rotate = () => {
    if (typeof option !== "string" && typeof option !== "function") {
      index = (index + 1) % option.length;
    }
  };
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
    advance({ greeted, unavailable = false }) {
      if (greeted || !unavailable) refusedInRound = 0;
      if (!unavailable) {
        if (!greeted) rotate();
        return false;
      }
      rotate();
      refusedInRound += 1;
      if (refusedInRound < roundSize) return true;
      refusedInRound = 0;
      return false;
    },
  };
}
