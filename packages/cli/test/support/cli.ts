import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { within } from "@lifeline/test-support";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The `lifeline` binary as a user runs it, from its TypeScript source: `node --import tsx`
 * with the workspace packages resolved to their sources too, so no build must come first.
 */
export const CLI_COMMAND: readonly string[] = [
  process.execPath,
  "--conditions=@lifeline/source",
  "--import",
  "tsx",
  "src/main.ts",
];
export const CLI_CWD = packageDir;

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  readonly exited: Promise<CliRun>;
  /** Resolves with the match once stdout (or stderr) matches; fails with both outputs after `ms`. */
  waitFor(
    stream: "stdout" | "stderr",
    pattern: RegExp,
    label: string,
    ms?: number,
  ): Promise<RegExpExecArray>;
  /** SIGKILL unless it exited; waits for the exit. */
  kill(): Promise<void>;
}

/** `env`: variables added to the test's own environment (which has NO_COLOR=1). */
export function startCli(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): CliProcess {
  const [command = "", ...prefix] = CLI_COMMAND;
  const child = spawn(command, [...prefix, ...args], {
    cwd: packageDir,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    output.stdout += chunk;
    notify();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    output.stderr += chunk;
    notify();
  });
  let done = false;
  const exited = new Promise<CliRun>((resolve) => {
    child.once("close", (code) => {
      done = true;
      notify();
      resolve({ code, ...output });
    });
  });
  return {
    child,
    get stdout() {
      return output.stdout;
    },
    get stderr() {
      return output.stderr;
    },
    exited,
    async waitFor(stream, pattern, label, ms = 10_000) {
      let stop = () => {};
      const found = new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output[stream]);
          if (match) resolve(match);
          else if (done)
            reject(new Error(`lifeline exited before ${label}: ${JSON.stringify(output)}`));
        };
        waiters.add(check);
        stop = () => waiters.delete(check);
        check();
      });
      try {
        return await within(found, `${label}; so far ${JSON.stringify(output)}`, ms);
      } finally {
        stop();
      }
    },
    async kill() {
      if (!done) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Runs `lifeline <args>` to its end (bounded by `ms`). */
export async function runCli(
  args: readonly string[],
  ms = 20_000,
  env: Readonly<Record<string, string>> = {},
): Promise<CliRun> {
  const cli = startCli(args, env);
  try {
    return await within(cli.exited, `lifeline ${args.join(" ")} to exit`, ms);
  } finally {
    await cli.kill();
  }
}
