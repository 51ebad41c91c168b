import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/**
 * True for addresses only this machine can reach: 127.0.0.0/8, ::1 and their IPv4-mapped
 * form (what a socket on `::` reports for an IPv4 peer).
 */
export function isLoopback(address: string): boolean {
  const host = address.startsWith("::ffff:") ? address.slice(7) : address;
  return host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface StatusGuardOptions {
  /** `LIFELINE_ADMIN_TOKEN`: a caller sending `Authorization: Bearer <it>` is let in. */
  readonly adminToken: string | undefined;
  /** Peers let in without a token, by the socket's own remote address. */
  readonly isTrustedAddress: (address: string) => boolean;
}

/**
 * The guard of `/api/websocket/status`, which lists every client's address and client_id:
 * a trusted peer (loopback by default) or the admin token. The address is the TCP peer's,
 * never `X-Forwarded-For`, which any caller can write; behind a proxy every caller is the
 * proxy, so there only the token lets anyone in unless the proxy is trusted on purpose.
 */
export function createStatusGuard(
  options: StatusGuardOptions,
): (request: IncomingMessage) => boolean {
  const expected = options.adminToken === undefined ? undefined : digest(options.adminToken);
  return (request) => {
    const peer = request.socket.remoteAddress;
    if (peer !== undefined && options.isTrustedAddress(peer)) return true;
    if (expected === undefined) return false;
    const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? "");
    // Compared as fixed-length digests in constant time: the answer's timing says nothing
    // about how much of a guess was right.
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
