import type { AddressInfo } from "node:net";
import type { Log } from "./logging.js";
import type { ResolvedOptions } from "./options.js";

/**
 * True for addresses only this machine can reach: 127.0.0.0/8, ::1 and their IPv4-mapped
 * form. A pipe or Unix socket path counts as local too.
 */
export function isLoopback(address: string): boolean {
  const host = address.startsWith("::ffff:") ? address.slice(7) : address;
  return host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Options that leave a server open to anyone who reaches a non-loopback address. */
export function exposureWarnings(
  opts: Pick<ResolvedOptions<unknown>, "authenticate" | "status">,
  address: AddressInfo | string | null,
): string[] {
  if (address === null || typeof address === "string" || isLoopback(address.address)) return [];
  const where = `${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  const warnings: string[] = [];
  if (opts.authenticate === undefined) {
    warnings.push(
      `listening on ${where} with no authenticate hook: anyone who reaches it connects, with the client_id and role they choose`,
    );
  }
  if (opts.status.enabled && opts.status.authorize === undefined) {
    warnings.push(
      `the status endpoint lists remote addresses and client ids to anyone who reaches ${where}: pass status.authorize`,
    );
  }
  return warnings;
}

/**
 * Logs `exposureWarnings` once, at `warn`, when the HTTP server listens (at once when it
 * already does). Returns the undo for a server that never listened.
 */
export function warnAboutExposure(
  opts: Pick<ResolvedOptions<unknown>, "authenticate" | "status">,
  logger: Log,
  server: { address(): AddressInfo | string | null; listening: boolean } & NodeJS.EventEmitter,
): () => void {
  const check = (): void => {
    for (const warning of exposureWarnings(opts, server.address())) logger.warn(warning);
  };
  if (server.listening) {
    check();
    return () => {};
  }
  server.once("listening", check);
  return () => {
    server.off("listening", check);
  };
}

/** What a handed-over request's socket may tell about where it came in. */
interface HandedOverSocket {
  address(): AddressInfo | object;
  /** The `net.Server` that accepted the socket, which Node sets on accepted sockets. */
  readonly server?: { address?(): AddressInfo | string | null } | null;
}

/**
 * Logs `exposureWarnings` at most once for the sockets an application hands over
 * (`noServer`: upgrades and `handleHttp` requests), the only place such a server learns
 * where it is reachable. The address of the HTTP server that accepted a socket settles it
 * at once (it listens on `0.0.0.0` even when the first client came over loopback); without
 * it the socket's local address is all there is, and one that came in on loopback says
 * nothing about the next, so the check goes on until a socket arrives on another address.
 */
export function watchHandedOverSockets(
  opts: Pick<ResolvedOptions<unknown>, "authenticate" | "status">,
  logger: Log,
): (socket: HandedOverSocket) => void {
  const anywhere: AddressInfo = { address: "0.0.0.0", family: "IPv4", port: 0 };
  let settled = exposureWarnings(opts, anywhere).length === 0;
  return (socket) => {
    if (settled) return;
    const listening = socket.server?.address?.();
    const local = socket.address();
    const address =
      listening !== undefined && listening !== null && typeof listening !== "string"
        ? listening
        : "port" in local && "address" in local
          ? (local as AddressInfo)
          : null;
    if (address === null) return;
    if (address === listening || !isLoopback(address.address)) settled = true;
    for (const warning of exposureWarnings(opts, address)) logger.warn(warning);
  };
}
