/**
 * The process exit codes of `lifeline`, one table so `--help`, the README and the code
 * agree. 64 is `EX_USAGE` from BSD's sysexits.h; 130 is the shell's 128 + SIGINT.
 */
export const ExitCode = {
  /** The command did what it was asked (a response, an ack, a healthy server, `--count` reached, `q`). */
  Ok: 0,
  /** The server answered with an error (a failed response, a refused publish), or `/health` is not ok. */
  Failed: 1,
  /** No answer in time, or the connection never opened (refused, refused handshake, DNS). */
  Unreachable: 2,
  /** Bad input: an unknown option, a bad option value, a malformed URL or JSON argument. */
  Usage: 64,
  /**
   * Interrupted by Ctrl-C (SIGINT); SIGTERM and SIGHUP exit 143 and 129 (128 + the signal),
   * and a closed stdout (`| head`) 141, as SIGPIPE would.
   */
  Interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The table as `--help` prints it. */
export const EXIT_CODES_HELP = `Exit codes:
  0    ok (response, ack, healthy server, --count reached, q in monitor)
  1    the server answered with an error, or /health is not ok
  2    timeout, or the connection never opened (refused, handshake refused)
  64   usage: unknown option, bad option value, malformed URL or JSON argument
  130  interrupted (Ctrl-C); 143 for SIGTERM, 129 for SIGHUP, 141 when
       stdout's reader has gone (| head)`;
