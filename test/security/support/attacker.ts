import { Worker } from "node:worker_threads";

/** What an attempt to connect ended in. */
export type Outcome =
  | { readonly kind: "open" }
  | { readonly kind: "refused"; readonly status: number; readonly retryAfter: string | undefined }
  | { readonly kind: "closed"; readonly code: number };

/** Answers by kind: `subscribed`, `response:ok`, `response:<error code>`, ... */
export type Summary = Readonly<Record<string, number>>;

export interface LoopResult {
  readonly admitted: number;
  readonly refused: readonly { readonly status: number; readonly retryAfter?: string }[];
  /** Close codes of the attempts closed after the upgrade. */
  readonly closed: readonly number[];
  readonly elapsedMs: number;
}

/**
 * Connections from one local address driven by a worker thread (attacker-worker.mjs), so
 * the attack's client side neither blocks the server's event loop nor counts in its heap.
 */
export interface Attacker {
  /** Opens a connection named `name` as `clientId`; kept open when admitted. */
  open(name: string, clientId: string): Promise<Outcome>;
  /**
   * Sends `messages` on `name`, in rounds of `round` each awaiting its answers, or all at
   * once without; with `everyMs`, one round at most that often. Then a ping. Resolves with
   * a summary of the answers once the pong came.
   */
  send(
    name: string,
    messages: readonly object[],
    round?: number,
    everyMs?: number,
  ): Promise<Summary>;
  /** Connects once per client id, one after another, closing each admitted connection. */
  loop(clientIds: readonly string[], awaitClose: boolean): Promise<LoopResult>;
  close(): Promise<void>;
}

export function startAttacker(url: string, localAddress: string): Attacker {
  const worker = new Worker(new URL("./attacker-worker.mjs", import.meta.url));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  worker.on("message", (reply: { id: number; result?: unknown; error?: string }) => {
    const call = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error !== undefined) call?.reject(new Error(reply.error));
    else call?.resolve(reply.result);
  });
  worker.on("error", (error) => {
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  });
  const call = <T>(op: string, args: object): Promise<T> =>
    new Promise((resolve, reject) => {
      nextId += 1;
      pending.set(nextId, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id: nextId, op, args });
    });
  return {
    open: (name, clientId) => call("open", { name, url, localAddress, clientId }),
    send: (name, messages, round, everyMs) => call("send", { name, messages, round, everyMs }),
    loop: (clientIds, awaitClose) => call("loop", { url, localAddress, clientIds, awaitClose }),
    async close() {
      await call("closeAll", {}).catch(() => {});
      await worker.terminate();
    },
  };
}
