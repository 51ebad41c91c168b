// Process helpers for the packaging check: free ports, commands that must succeed, and
// long-running children (servers) that are waited on by their output, never by sleeps.
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/** Runs a command to completion; its stdout is returned, stderr goes to ours. */
export function run(command, args, cwd, options = {}) {
  return execFileSync(command, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    ...options,
  });
}

/**
 * Starts a long-running child and collects its output. `waitFor(pattern)` resolves with
 * the match once the output contains it, and rejects when the child exits first or the
 * deadline passes. `stop(signal)` ends it and resolves with its exit code.
 */
export function startProcess(command, args, { cwd, env, label, timeoutMs = 30_000 }) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env } });
  let output = "";
  let exit;
  const exited = new Promise((resolveExit) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolveExit(exit);
    });
  });
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  return {
    get output() {
      return output;
    },
    exited,
    waitFor(pattern) {
      return new Promise((resolveMatch, reject) => {
        const timer = setTimeout(() => finish(new Error("timed out")), timeoutMs);
        const check = () => {
          const match = pattern.exec(output);
          if (match) finish(undefined, match);
        };
        const onExit = () => finish(new Error(`exited with ${exit.code ?? exit.signal}`));
        function finish(error, match) {
          clearTimeout(timer);
          child.stdout.off("data", check);
          child.stderr.off("data", check);
          child.off("exit", onExit);
          if (error)
            reject(new Error(`${label}: ${error.message} waiting for ${pattern}:\n${output}`));
          else resolveMatch(match);
        }
        child.stdout.on("data", check);
        child.stderr.on("data", check);
        child.once("exit", onExit);
        if (exit) onExit();
        else check();
      });
    },
    async stop(signal = "SIGTERM") {
      if (!exit) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}
