import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import type { Availability } from "@lifeline/test-support";

const run = promisify(execFile);
const INSTALL_HINT = "run `bash scripts/ensure-system-deps.sh tmux` (Debian package tmux)";

/** Whether `tmux` is on PATH. */
export function tmuxAvailability(): Availability {
  const probe = spawnSync("tmux", ["-V"], { stdio: "ignore" });
  if (probe.error === undefined && probe.status === 0) return { ok: true };
  return { ok: false, reason: `tmux not found on PATH: ${INSTALL_HINT}` };
}

/** One command in a detached tmux pane of a private tmux server, driven like a user would. */
export interface TmuxPane {
  /** The screen as text, one line per row. */
  capture(): Promise<string>;
  /** Polls the screen (every 50 ms, at most `ms`) until it matches; fails with the last screen. */
  waitForScreen(pattern: RegExp, label: string, ms?: number): Promise<string>;
  sendKeys(...keys: string[]): Promise<void>;
  /** Resizes the pane's window, as a user dragging the terminal's corner would. */
  resize(columns: number, rows: number): Promise<void>;
  /**
   * Copies every byte the program writes to the pane, from now until the returned stop,
   * which resolves with them (escape sequences included).
   */
  recordOutput(): Promise<() => Promise<string>>;
  /** Resolves with the command's exit status once it has exited (bounded by `ms`). */
  exitStatus(ms?: number): Promise<number>;
  /** Kills the private tmux server and everything in it. */
  dispose(): Promise<void>;
}

/**
 * Starts `command` (run by `sh -c` in `cwd`) in an 80x24 pane of a tmux server on its own
 * socket (`-L`), so a user's tmux sessions are never touched; the pane stays after the
 * command exits so its exit status can be read.
 */
export async function startInTmux(command: string, cwd: string): Promise<TmuxPane> {
  const socket = `lifeline-cli-test-${randomBytes(4).toString("hex")}`;
  const tmux = async (...args: string[]) =>
    // SHELL: the server's default-shell, which runs the command: /bin/sh reads `$?` below.
    (
      await run("tmux", ["-L", socket, "-f", "/dev/null", ...args], {
        encoding: "utf8",
        env: { ...process.env, SHELL: "/bin/sh" },
      })
    ).stdout;
  // The shell writes the status to a file. tmux's #{pane_dead_status} is sometimes still
  // empty seconds after the pane died, and a line echoed into the pane after the program
  // left the alternate screen is lost when tmux marks the pane dead.
  const statusFile = join(tmpdir(), `${socket}.status`);
  await tmux(
    "new-session",
    "-d",
    "-s",
    "main",
    "-x",
    "80",
    "-y",
    "24",
    "-c",
    cwd,
    `${command}; echo $? > '${statusFile}'`,
    ";",
    "set-option",
    "-t",
    "main",
    "remain-on-exit",
    "on",
  );
  const capture = () => tmux("capture-pane", "-p", "-t", "main");
  const poll = async <T>(
    read: () => Promise<T | undefined>,
    label: string,
    ms: number,
    last: () => string,
  ) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await read();
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${ms} ms waiting for ${label}; screen:\n${last()}`);
      await delay(50);
    }
  };
  let screen = "";
  let recordings = 0;
  const files: string[] = [statusFile];
  return {
    capture,
    waitForScreen: (pattern, label, ms = 15_000) =>
      poll(
        async () => {
          screen = await capture();
          return pattern.test(screen) ? screen : undefined;
        },
        label,
        ms,
        () => screen,
      ),
    async sendKeys(...keys) {
      await tmux("send-keys", "-t", "main", ...keys);
    },
    async resize(columns, rows) {
      await tmux("resize-window", "-t", "main", "-x", String(columns), "-y", String(rows));
    },
    async recordOutput() {
      const file = join(tmpdir(), `${socket}.${++recordings}.out`);
      files.push(file);
      await tmux("pipe-pane", "-O", "-t", "main", `cat > '${file}'`);
      return async () => {
        // pipe-pane without a command closes the pipe; cat has then written what it read.
        await tmux("pipe-pane", "-t", "main");
        return poll(
          async () => {
            const text = await readFile(file, "latin1").catch(() => undefined);
            return text;
          },
          "the recorded output",
          5000,
          () => screen,
        );
      };
    },
    exitStatus: (ms = 10_000) =>
      poll(
        async () => {
          const status = await readFile(statusFile, "utf8").catch(() => "");
          return /^\d+\n$/.test(status) ? Number(status) : undefined;
        },
        "the command to exit",
        ms,
        () => screen,
      ),
    async dispose() {
      await tmux("kill-server").catch(() => {});
      await Promise.all(files.map((file) => rm(file, { force: true })));
    },
  };
}
