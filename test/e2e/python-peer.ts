import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { skipWithout, within } from "@lifeline/test-support";

// The independent peers in ./peers are Python programs written from PROTOCOL.md alone. Each
// prints one JSON object per line on stdout and takes commands on stdin; this runs one as
// a child process and waits for what it prints.

const python = spawnSync("python3", ["--version"], { encoding: "utf8" });

/** For `describe.skipIf`: true (off CI only) when python3 is missing. */
export const skipWithoutPython = (): boolean =>
  skipWithout(
    "python3 (scripts/ensure-system-deps.sh python)",
    python.status === 0 ? { ok: true } : { ok: false, reason: "python3 is not installed" },
  );

/** One line the peer printed: `event` names it; the rest depends on the peer. */
export interface PeerEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

export interface PythonPeer {
  /** Everything printed so far, in order. */
  readonly events: PeerEvent[];
  /** Writes one command line (an object is sent as JSON). */
  command(line: string | Record<string, unknown>): void;
  /**
   * The first event printed for which `predicate` holds, at or after index `from`; rejects
   * with everything printed when the peer reports an error instead, or after 15 s.
   */
  next(predicate: (event: PeerEvent) => boolean, label: string, from?: number): Promise<PeerEvent>;
  /** Asks the peer to quit and resolves with its exit code. */
  stop(quit?: string): Promise<number | null>;
  kill(): void;
}

export function startPythonPeer(script: string, args: readonly string[]): PythonPeer {
  const path = fileURLToPath(new URL(`./peers/${script}`, import.meta.url));
  // No __pycache__ beside the peers' shared modules in the source tree.
  const child: ChildProcessWithoutNullStreams = spawn("python3", [path, ...args], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  const events: PeerEvent[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  let rest = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as PeerEvent);
    for (const wake of [...waiters]) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    events,
    command: (line) =>
      child.stdin.write(`${typeof line === "string" ? line : JSON.stringify(line)}\n`),
    next(predicate, label, from = 0) {
      const find = () =>
        events.slice(from).find((e) => e.event === "error" || predicate(e)) ??
        (child.exitCode === null ? undefined : { event: "error", message: "the peer exited" });
      return within(
        new Promise<PeerEvent>((resolve, reject) => {
          const wake = () => {
            const found = find();
            if (!found) return;
            waiters.delete(wake);
            if (found.event === "error" && !predicate(found)) {
              reject(new Error(`${label}: the peer failed: ${JSON.stringify(events)} ${stderr}`));
            } else resolve(found);
          };
          waiters.add(wake);
          void exited.then(wake);
          wake();
        }),
        `${label} (peer printed ${JSON.stringify(events)}; stderr ${stderr})`,
        15_000,
      );
    },
    async stop(quit = '{"do":"quit"}') {
      if (child.exitCode === null) child.stdin.end(`${quit}\n`);
      return within(exited, "the peer exits", 5000);
    },
    kill: () => child.kill("SIGKILL"),
  };
}
