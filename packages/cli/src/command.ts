import type { CommonOptions } from "./args.js";
import type { ExitCode } from "./exit-codes.js";
import type { Output } from "./output.js";

/** What `main` hands a command: its parsed arguments and where to write. */
export interface CommandContext {
  readonly common: CommonOptions;
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly output: Output;
  /** Aborted on Ctrl-C: a long-running command closes its client and returns. */
  readonly interrupted: AbortSignal;
}

export type Command = (context: CommandContext) => Promise<ExitCode>;

/** `--timeout` of the one-shot commands, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;
