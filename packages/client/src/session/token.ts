/** Context passed to a `token` function before each attempt and each refresh. */
export interface TokenContext {
  /**
   * `connect` before an attempt; `refresh` when the server announced that the current
   * credentials expire (PROTOCOL.md, "Credentials in band"), to be sent in band.
   * @default "connect"
   */
  readonly reason?: "connect" | "refresh";
  /**
   * Retries since the connection was last healthy (0 for the first attempt). For a
   * refresh: 0, or 1 when the server refused the previous token.
   */
  readonly attempt: number;
  /** The close code that ended the previous connection, e.g. 4401 when the token expired. */
  readonly lastCloseCode?: number;
  /** For a refresh: when the current credentials expire, in ms since the Unix epoch. */
  readonly expiresAt?: number;
}

/**
 * Returns a credential: called before every attempt, and before credentials expire on a
 * server that announces `refresh` (short-lived tokens).
 */
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
