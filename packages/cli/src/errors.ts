import { ExitCode } from "./exit-codes.js";

/**
 * An error the CLI reports as one line on stderr and turns into an exit code; anything
 * else that escapes a command is a bug and is reported the same way, with its stack only
 * under `--debug`.
 */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** Bad input (exit 64): the message says what was expected and what came. */
export function usageError(message: string): CliError {
  return new CliError(ExitCode.Usage, message);
}
