import { isLifelineError } from "@lifeline/client";
import { type ConnectionWatch, timeoutError } from "./connect.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";

/**
 * The exit for a `request()` or `publish()` that rejected: a deadline or a lost connection
 * is exit 2, an answer from the server with an error code is exit 1 ("code: message").
 */
export function operationFailure(
  error: unknown,
  url: string,
  timeoutMs: number,
  watch: ConnectionWatch,
): unknown {
  if (error instanceof CliError || !isLifelineError(error)) return error;
  switch (error.code) {
    case "timeout":
      return timeoutError(url, timeoutMs, watch);
    case "connection_lost":
    case "closed":
      return new CliError(ExitCode.Unreachable, `${error.code}: ${error.message}`);
    default:
      return new CliError(ExitCode.Failed, `${error.code}: ${error.message}`);
  }
}
