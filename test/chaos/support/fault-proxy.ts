import { connect, createServer, type Server, type Socket } from "node:net";
import { deferred } from "@lifeline/test-support";

/**
 * Faults applied to every link of a proxy (existing and new ones), per direction.
 * Time fields are milliseconds.
 */
export interface Faults {
  /** Fixed delay added to every chunk. @default 0 */
  readonly latencyMs?: number;
  /** Extra random delay in [0, jitterMs) per chunk; order is kept. @default 0 */
  readonly jitterMs?: number;
  /** Chunks are cut into random slices of 1..sliceBytes bytes written one by one. @default off */
  readonly sliceBytes?: number;
  /** A link with no byte in either direction for this long is closed (NAT, load balancer). @default off */
  readonly idleCloseMs?: number;
  /**
   * New links whose first request asks for `Upgrade: websocket` are answered with this
   * HTTP status and closed, as a proxy or firewall that blocks WebSocket does; plain HTTP
   * (the SSE fallback) passes. Links already upgraded are left alone. @default off
   */
  readonly refuseUpgrades?: 400 | 403;
}

/** One client connection through the proxy and its upstream connection. */
export interface Link {
  readonly id: number;
  /** Bytes forwarded client -> server and server -> client. */
  readonly bytes: { up: number; down: number };
  readonly closed: Promise<void>;
  /**
   * From now on every byte in both directions is swallowed and neither side's close is
   * passed on: both ends believe the link is up (a half-open link).
   */
  silence(): void;
  /** Forwards half of the next server -> client chunk, then destroys both sides. */
  cutMidFrame(): Promise<void>;
  /** Destroys both sides now (a reset). */
  reset(): void;
}

export interface FaultProxy {
  readonly port: number;
  /** Live links, oldest first. */
  readonly links: readonly Link[];
  /** Links accepted since the proxy started. */
  readonly accepted: number;
  /** Upgrade requests refused since the proxy started (see `Faults.refuseUpgrades`). */
  readonly refusedUpgrades: number;
  setFaults(faults: Faults): void;
  /** Resolves with the next link accepted. */
  nextLink(): Promise<Link>;
  close(): Promise<void>;
}

/** A request head larger than this is forwarded without looking further. */
const MAX_HEAD_BYTES = 16 * 1024;

function isWebSocketUpgrade(head: Buffer): boolean {
  return /^upgrade:\s*websocket\s*$/im.test(head.toString("latin1"));
}

interface Pump {
  push(chunk: Buffer): void;
  stop(): void;
}

/**
 * A TCP proxy on 127.0.0.1 that injects the faults of real networks between a client and
 * a server: latency, jitter, frames sliced into tiny segments, links that go silent
 * without closing, cuts in the middle of a frame, and idle timeouts.
 */
export async function startFaultProxy(
  target: { readonly host?: string; readonly port: number },
  options: { readonly random?: () => number } = {},
): Promise<FaultProxy> {
  const random = options.random ?? Math.random;
  let faults: Faults = {};
  const links = new Set<LinkImpl>();
  let accepted = 0;
  let refusedUpgrades = 0;
  const linkWaiters: ((link: Link) => void)[] = [];

  interface LinkImpl extends Link {
    touch(): void;
    armIdle(): void;
  }

  /**
   * Delivers chunks to `to` one at a time, in order, each no earlier than its due time
   * (latency + jitter, never before the chunk ahead of it), sliced when asked.
   */
  function pump(to: Socket, count: (n: number) => void): Pump {
    const queue: { dueAt: number; chunk: Buffer }[] = [];
    let lastDueAt = 0;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const drain = () => {
      timer = undefined;
      while (!stopped && !to.destroyed) {
        const head = queue[0];
        if (!head) return;
        const wait = head.dueAt - Date.now();
        if (wait > 0) {
          timer = setTimeout(drain, wait);
          return;
        }
        const sliceBytes = faults.sliceBytes;
        if (!sliceBytes) {
          queue.shift();
          count(head.chunk.length);
          to.write(head.chunk);
          continue;
        }
        // One slice per turn of the event loop, so each leaves as its own TCP segment
        // (noDelay is set): the receiver must reassemble frames from pieces.
        const size = 1 + Math.floor(random() * sliceBytes);
        const slice = head.chunk.subarray(0, size);
        head.chunk = head.chunk.subarray(size);
        if (head.chunk.length === 0) queue.shift();
        count(slice.length);
        to.write(slice);
        timer = setTimeout(drain, 0);
        return;
      }
    };

    return {
      push(chunk) {
        if (stopped) return;
        const delay = (faults.latencyMs ?? 0) + random() * (faults.jitterMs ?? 0);
        // Jitter never reorders: a chunk is due no earlier than the one before it.
        lastDueAt = Math.max(Date.now() + delay, lastDueAt);
        queue.push({ dueAt: lastDueAt, chunk });
        if (timer === undefined) drain();
      },
      stop() {
        stopped = true;
        queue.length = 0;
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
      },
    };
  }

  function onConnection(client: Socket): void {
    accepted += 1;
    const id = accepted;
    client.setNoDelay(true);
    const upstream = connect({ host: target.host ?? "127.0.0.1", port: target.port });
    upstream.setNoDelay(true);
    const bytes = { up: 0, down: 0 };
    let silent = false;
    let cutWaiter: (() => void) | undefined;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const closed = deferred();
    const up = pump(upstream, (n) => {
      bytes.up += n;
    });
    const down = pump(client, (n) => {
      bytes.down += n;
    });

    const destroy = () => {
      up.stop();
      down.stop();
      if (idleTimer) clearTimeout(idleTimer);
      client.destroy();
      upstream.destroy();
      links.delete(link);
      if (!closed.settled) closed.resolve();
    };

    const link: LinkImpl = {
      id,
      bytes,
      closed: closed.promise,
      silence() {
        silent = true;
        up.stop();
        down.stop();
        if (idleTimer) clearTimeout(idleTimer);
      },
      cutMidFrame() {
        const done = deferred();
        cutWaiter = () => done.resolve();
        return done.promise;
      },
      reset: destroy,
      touch() {
        if (!silent) link.armIdle();
      },
      armIdle() {
        if (idleTimer) clearTimeout(idleTimer);
        idleTimer = undefined;
        const idleCloseMs = faults.idleCloseMs;
        if (idleCloseMs !== undefined) idleTimer = setTimeout(destroy, idleCloseMs);
      },
    };
    links.add(link);
    link.armIdle();

    // The first request's head decides whether an upgrade is refused; it is held until
    // complete (bounded), then forwarded or answered.
    let head: Buffer | undefined = Buffer.alloc(0);
    client.on("data", (chunk: Buffer) => {
      if (silent) return;
      link.touch();
      if (head !== undefined) {
        head = Buffer.concat([head, chunk]);
        if (head.indexOf("\r\n\r\n") === -1 && head.length < MAX_HEAD_BYTES) return;
        const request = head;
        head = undefined;
        const status = faults.refuseUpgrades;
        if (status !== undefined && isWebSocketUpgrade(request)) {
          refusedUpgrades += 1;
          client.end(
            `HTTP/1.1 ${status} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
          );
          upstream.destroy();
          return;
        }
        up.push(request);
        return;
      }
      up.push(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (silent) return;
      link.touch();
      if (cutWaiter && chunk.length >= 2) {
        const waiter = cutWaiter;
        cutWaiter = undefined;
        down.stop();
        client.write(chunk.subarray(0, Math.floor(chunk.length / 2)), () => {
          destroy();
          waiter();
        });
        return;
      }
      down.push(chunk);
    });
    const onEnd = () => {
      // A silenced link passes no close on either: the other end must find out by itself.
      if (!silent) destroy();
    };
    client.on("close", onEnd);
    upstream.on("close", onEnd);
    client.on("error", () => {});
    upstream.on("error", () => {});
    const waiter = linkWaiters.shift();
    waiter?.(link);
  }

  const server: Server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;

  return {
    port,
    get links() {
      return [...links];
    },
    get accepted() {
      return accepted;
    },
    get refusedUpgrades() {
      return refusedUpgrades;
    },
    setFaults(next) {
      faults = { ...next };
      for (const link of links) link.armIdle();
    },
    nextLink() {
      return new Promise((resolve) => linkWaiters.push(resolve));
    },
    async close() {
      for (const link of [...links]) link.reset();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
