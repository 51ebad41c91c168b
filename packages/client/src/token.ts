/** Context passed to a `token` function before each attempt. */
export interface TokenContext {
  /** Retries since the connection was last healthy (0 for the first attempt). */
  readonly attempt: number;
  /** The close code that ended the previous connection, e.g. 4401 when the token expired. */
  readonly lastCloseCode?: number;
}

/** Returns a credential for the next attempt; called before every attempt (short-lived tokens). */
export type TokenProvider = (
  context: TokenContext,
) => string | undefined | Promise<string | undefined>;

/**
 * A credential sent as the `token` query parameter: a string, or a function that gives one per
 * attempt.
 */
export type TokenOption = string | TokenProvider;

/** Resolves the `token` option for one attempt; `undefined` means no `token=` parameter. */
export async function resolveToken(
  option: TokenOption | undefined,
  context: TokenContext,
): Promise<string | undefined> {
  if (option === undefined || typeof option === "string") return option;
  return option(context);
}
