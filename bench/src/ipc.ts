/**
 * A small request/response layer over Node's child-process IPC channel. The runner talks
 * to every server and load process through it; each call is bounded in time so a stuck
 * child can never hang the run.
 */
import { type ChildProcess, fork } from "node:child_process";

interface CallMessage {
  readonly kind: "call";
  readonly seq: number;
  readonly op: string;
  readonly args: unknown;
}
interface NotifyMessage {
  readonly kind: "notify";
  readonly op: string;
  readonly args: unknown;
}
interface ReplyMessage {
  readonly kind: "reply";
  readonly seq: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}
interface EventMessage {
  readonly kind: "event";
  readonly event: string;
  readonly data: unknown;
}
type ChildToParent = ReplyMessage | EventMessage | { readonly kind: "ready" };
type ParentToChild = CallMessage | NotifyMessage;

export type Handler = (args: never) => unknown;

export interface Worker {
  readonly pid: number;
  /** False once the process has exited. */
  readonly alive: boolean;
  /** Runs `op` in the child and resolves with its result; rejects after `timeoutMs`. */
  call<T>(op: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** Fire-and-forget: runs `op` in the child without waiting for an answer. */
  notify(op: string, args?: unknown): void;
  /** Listens to events the child emits; returns the undo. */
  on(event: string, listener: (data: unknown) => void): () => void;
  /** Sends `signal` to this child (by its pid) and resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  readonly exited: Promise<number | null>;
}

export interface SpawnOptions {
  readonly args?: readonly string[];
  readonly execArgv?: readonly string[];
  /** How long the child may take to load and say ready. @default 30000 */
  readonly readyTimeoutMs?: number;
}

const DEFAULT_CALL_TIMEOUT_MS = 120_000;
const live = new Set<ChildProcess>();

// A runner that dies (Ctrl-C, an exception) takes the children it started with it.
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** Forks `entry` with the runner's loader flags plus `execArgv`, and waits for it to be ready. */
export function spawnWorker(entry: string, options: SpawnOptions = {}): Promise<Worker> {
  const child = fork(entry, [...(options.args ?? [])], {
    execArgv: [...process.execArgv, ...(options.execArgv ?? [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    serialization: "advanced",
  });
  live.add(child);
  // A send racing the child's exit must reject that call, not crash the runner.
  child.on("error", () => {});
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const listeners = new Map<string, Set<(data: unknown) => void>>();
  let seq = 0;
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      live.delete(child);
      for (const p of pending.values()) p.reject(new Error(`${entry} exited (code ${code})`));
      pending.clear();
      resolve(code);
    });
  });

  return new Promise<Worker>((resolveReady, rejectReady) => {
    const readyTimer = setTimeout(() => {
      child.kill("SIGKILL");
      rejectReady(
        new Error(`${entry} did not start within ${options.readyTimeoutMs ?? 30_000} ms`),
      );
    }, options.readyTimeoutMs ?? 30_000);
    void exited.then((code) => {
      clearTimeout(readyTimer);
      rejectReady(new Error(`${entry} exited before ready (code ${code})`));
    });

    child.on("message", (raw) => {
      const message = raw as ChildToParent;
      if (message.kind === "ready") {
        clearTimeout(readyTimer);
        resolveReady(worker);
      } else if (message.kind === "reply") {
        const p = pending.get(message.seq);
        if (p === undefined) return;
        pending.delete(message.seq);
        if (message.ok) p.resolve(message.value);
        else p.reject(new Error(message.error ?? "worker call failed"));
      } else {
        for (const listener of listeners.get(message.event) ?? []) listener(message.data);
      }
    });

    const worker: Worker = {
      pid: child.pid ?? -1,
      get alive() {
        return child.exitCode === null && child.signalCode === null;
      },
      exited,
      call<T>(op: string, args?: unknown, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<T> {
        const id = ++seq;
        return new Promise<T>((resolve, reject) => {
          const timer = setTimeout(() => {
            pending.delete(id);
            reject(new Error(`${op} timed out after ${timeoutMs} ms`));
          }, timeoutMs);
          pending.set(id, {
            resolve: (v) => {
              clearTimeout(timer);
              resolve(v as T);
            },
            reject: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          });
          const message: ParentToChild = { kind: "call", seq: id, op, args };
          if (!child.connected) {
            pending.delete(id);
            clearTimeout(timer);
            reject(new Error(`${op}: ${entry} is not running`));
            return;
          }
          child.send(message);
        });
      },
      notify(op, args) {
        if (!child.connected) return;
        const message: ParentToChild = { kind: "notify", op, args };
        child.send(message);
      },
      on(event, listener) {
        let set = listeners.get(event);
        if (set === undefined) {
          set = new Set();
          listeners.set(event, set);
        }
        set.add(listener);
        return () => set.delete(listener);
      },
      async kill(signal = "SIGKILL") {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
  });
}

/** Child side: answers the parent's calls with `handlers` and returns an event emitter. */
export function serve(handlers: Readonly<Record<string, Handler>>): {
  emit(event: string, data: unknown): void;
} {
  process.on("message", (raw) => {
    const message = raw as ParentToChild;
    const handler = handlers[message.op] as ((args: unknown) => unknown) | undefined;
    if (message.kind === "notify") {
      handler?.(message.args);
      return;
    }
    const reply = (r: ReplyMessage): void => {
      process.send?.(r);
    };
    if (handler === undefined) {
      reply({ kind: "reply", seq: message.seq, ok: false, error: `unknown op ${message.op}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (value) => reply({ kind: "reply", seq: message.seq, ok: true, value }),
        (error: unknown) =>
          reply({
            kind: "reply",
            seq: message.seq,
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          }),
      );
  });
  // The parent going away (runner killed) must not leave this child behind.
  process.on("disconnect", () => process.exit(0));
  process.send?.({ kind: "ready" });
  return {
    emit(event, data) {
      process.send?.({ kind: "event", event, data } satisfies EventMessage);
    },
  };
}
