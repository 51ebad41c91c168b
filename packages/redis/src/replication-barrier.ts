/**
 * Shares WAITs between appends (the `waitForReplication` option). `WAIT n ms` answers once
 * `n` replicas have every write the connection made before it, and blocks that connection
 * meanwhile: one WAIT per append would queue every later command (other topics' appends,
 * reads, the PING watchdog) behind a chain of WAITs, each up to its timeout when a replica
 * lags. A WAIT sent after Redis answered an append's script covers that append; an append
 * joins the WAIT in flight when that WAIT was sent after its script's reply, else the one
 * that follows. At most two WAITs are ever pending, and under load one WAIT confirms every
 * append answered during the WAIT before it.
 */
export interface ReplicationBarrier {
  /** Call once Redis has answered an append's script; returns its ticket for `confirm`. */
  wrote(): number;
  /** Resolves with the replicas a WAIT sent after the write `ticket` counted. */
  confirm(ticket: number): Promise<number>;
}

/** `wait` sends one WAIT on the connection the scripts go out on, at once. */
export function createReplicationBarrier(wait: () => Promise<number>): ReplicationBarrier {
  let written = 0;
  let inFlight: { readonly covers: number; readonly result: Promise<number> } | undefined;
  let next: Promise<number> | undefined;

  function start(): Promise<number> {
    const current = { covers: written, result: wait() };
    inFlight = current;
    const clear = () => {
      if (inFlight === current) inFlight = undefined;
    };
    current.result.then(clear, clear);
    return current.result;
  }

  return {
    wrote: () => ++written,
    confirm(ticket) {
      if (inFlight === undefined) return start();
      if (inFlight.covers >= ticket) return inFlight.result;
      if (next === undefined) {
        const after = () => {
          next = undefined;
          return start();
        };
        next = inFlight.result.then(after, after);
      }
      return next;
    },
  };
}
