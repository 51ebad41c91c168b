#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { type CommandName, parseCommandLine } from "./args.js";
import type { Command } from "./command.js";
import { monitor } from "./commands/monitor.js";
import { publish } from "./commands/publish.js";
import { request } from "./commands/request.js";
import { status } from "./commands/status.js";
import { tail } from "./commands/tail.js";
import { CliError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { helpText } from "./help.js";
import { createOutput } from "./output.js";

const commands: Record<CommandName, Command> = { tail, request, publish, status, monitor };
/**
 * Commands that stop by themselves on Ctrl-C (a monitor must restore the terminal first);
 * the one-shot commands are simply abandoned with 130.
 */
const stopsOnInterrupt: ReadonlySet<CommandName> = new Set(["tail", "monitor"]);

function version(): string {
  const manifest = new URL("../package.json", import.meta.url);
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
}

/**
 * Signals that end a command the way Ctrl-C does: `tail` and `monitor` close their client
 * and `monitor` gives the terminal back (raw mode, alternate screen) before the exit.
 */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/**
 * SIGPIPE too, in effect: Node ignores the signal and reports a write to a closed pipe as
 * an EPIPE error on stdout (`lifeline tail … | head -3` once head has its lines), which
 * would otherwise crash the process with a stack trace.
 */
type StopSignal = (typeof STOP_SIGNALS)[number] | "SIGPIPE";

/** The shell's convention: 128 + the signal's number (130 for SIGINT, 141 for SIGPIPE). */
function exitCodeFor(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/** Runs one command line; resolves with the exit code. Errors become one line on stderr. */
async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const interrupt = new AbortController();
  let received: StopSignal | undefined;
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      received ??= signal;
      interrupt.abort();
    };
    process.once(signal, handler);
    return () => process.off(signal, handler);
  });
  let writeFailure: Error | undefined;
  const onWriteError = (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") received ??= "SIGPIPE";
    else writeFailure ??= error;
    interrupt.abort();
  };
  // Nobody reads stderr any more: nothing can be reported there, the exit code still says it.
  const onStderrError = () => {};
  process.stdout.on("error", onWriteError);
  process.stderr.on("error", onStderrError);
  const stopped = (code: number) => {
    if (code !== ExitCode.Interrupted) return code;
    if (writeFailure) throw new CliError(ExitCode.Failed, `stdout: ${writeFailure.message}`);
    return received === undefined ? code : exitCodeFor(received);
  };
  try {
    const invocation = parseCommandLine(argv);
    if (invocation.kind === "help") {
      process.stdout.write(helpText(invocation.command));
      return ExitCode.Ok;
    }
    if (invocation.kind === "version") {
      process.stdout.write(`${version()}\n`);
      return ExitCode.Ok;
    }
    const running = commands[invocation.command]({
      common: invocation.common,
      positionals: invocation.positionals,
      values: invocation.values,
      output: createOutput({ quiet: invocation.common.quiet }),
      interrupted: interrupt.signal,
    });
    if (stopsOnInterrupt.has(invocation.command)) return stopped(await running);
    const interrupted = new Promise<ExitCode>((resolve) =>
      interrupt.signal.addEventListener("abort", () => resolve(ExitCode.Interrupted)),
    );
    return stopped(await Promise.race([running, interrupted]));
  } catch (error) {
    const exitCode = error instanceof CliError ? error.exitCode : ExitCode.Failed;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`lifeline: ${message}\n`);
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return exitCode;
  } finally {
    for (const undo of handlers) undo();
  }
}

const exitCode = await main(process.argv.slice(2));
// Whatever a closed client or a library left scheduled, the command is over; stdout and
// stderr are pipes or terminals, which Node writes synchronously on POSIX, so nothing is lost.
process.exit(exitCode);
