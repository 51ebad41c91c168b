import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const READY_TIMEOUT_MS = 15_000;

/** A test fixture (test/fixtures/<name>.ts) running in its own process, so a test can SIGKILL it. */
export interface FixtureProcess {
  /** The first line of stdout matching the ready pattern. */
  readonly readyLine: string;
  readonly pid: number;
  /** Kills it with `signal` and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `node --conditions=@lifeline/source --import tsx test/fixtures/<name>.ts` (workspace
 * packages resolve to their sources, as in vitest) and waits for a stdout line matching `ready`.
 */
export async function startFixture(
  name: string,
  env: Record<string, string>,
  ready: RegExp,
): Promise<FixtureProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--conditions=@lifeline/source", "--import", "tsx", join(here, "fixtures", `${name}.ts`)],
    {
      cwd: join(here, ".."),
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const readyLine = await new Promise<string>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => done(new Error(`${name} not ready in ${READY_TIMEOUT_MS} ms: ${output}`)),
      READY_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const line = output.split("\n").find((l) => ready.test(l));
      if (line !== undefined) done(undefined, line);
    };
    const onExit = (code: number | null) =>
      done(new Error(`${name} exited with ${code}: ${output}`));
    function done(error?: Error, line?: string) {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout?.resume();
      if (error !== undefined || line === undefined) {
        child.kill("SIGKILL");
        reject(error ?? new Error(`${name}: no ready line`));
      } else resolve(line);
    }
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
  return {
    readyLine,
    pid: child.pid ?? -1,
    async kill(signal = "SIGKILL") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
