import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { ClientIdPattern, CloseCode, PROTOCOL_VERSION } from "@lifeline/protocol";

/** The handshake's query parameters, checked. */
export interface HandshakeQuery {
  readonly clientId: string;
  readonly version: number;
  readonly role: string;
  readonly token: string | undefined;
}

/** Why a handshake is refused after the upgrade: a close code and a reason. */
export interface HandshakeRefusal {
  readonly code: CloseCode;
  readonly reason: string;
}

export type QueryCheck =
  | { readonly ok: true; readonly query: HandshakeQuery }
  | { readonly ok: false; readonly refusal: HandshakeRefusal; readonly failure: string };

const clientIdPattern = new RegExp(ClientIdPattern);

/**
 * Checks `client_id`, `version` and `role` (PROTOCOL.md, "Refused after the upgrade"):
 * version or client_id problems are 4400, an unknown role is 4401.
 */
export function checkQuery(
  params: ReadonlyMap<string, string>,
  roles: readonly string[],
): QueryCheck {
  const version = params.get("version") ?? null;
  if (version !== String(PROTOCOL_VERSION)) {
    return refuse(
      CloseCode.BadHandshake,
      `unsupported version: expected ${PROTOCOL_VERSION}, got ${version === null ? "none" : JSON.stringify(version.slice(0, 16))}`,
      "bad_version",
    );
  }
  const clientId = params.get("client_id");
  if (clientId === undefined || clientId === "") {
    return refuse(CloseCode.BadHandshake, "missing client_id", "bad_client_id");
  }
  if (!clientIdPattern.test(clientId)) {
    return refuse(
      CloseCode.BadHandshake,
      "invalid client_id: expected 1-128 of A-Z a-z 0-9 _ . : -",
      "bad_client_id",
    );
  }
  const asked = params.get("role") ?? "";
  // The configured string, shared by every connection, rather than the one parsed from
  // this request (a string per idle connection).
  const role = roles.find((known) => known === asked);
  if (role === undefined) {
    return refuse(
      CloseCode.Unauthenticated,
      `invalid role: expected one of ${roles.join(", ")}`,
      "bad_role",
    );
  }
  const token = params.get("token") ?? undefined;
  return { ok: true, query: { clientId, version: PROTOCOL_VERSION, role, token } };
}

function refuse(code: CloseCode, reason: string, failure: string): QueryCheck {
  return { ok: false, refusal: { code, reason }, failure };
}

/** A request target split into its path and query parameters (the first value of each). */
export interface RequestTarget {
  readonly path: string;
  readonly params: ReadonlyMap<string, string>;
}

/**
 * Splits `GET /ws?client_id=..` into path and parameters. Hand-written because every
 * handshake goes through it and `new URL(..).searchParams` costs more than the rest of the
 * checks together. Decoding follows URLSearchParams (`+` is a space, a malformed escape
 * is kept as it came); an absolute-form target (RFC 9112 3.2.2) goes through `URL`.
 */
export function parseTarget(raw: string | undefined): RequestTarget | undefined {
  const target = raw ?? "/";
  if (!target.startsWith("/")) {
    try {
      const url = new URL(target);
      return { path: url.pathname, params: new Map(url.searchParams) };
    } catch {
      return undefined;
    }
  }
  const mark = target.indexOf("?");
  const params = new Map<string, string>();
  if (mark < 0) return { path: target, params };
  for (const pair of target.slice(mark + 1).split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    if (!params.has(key)) params.set(key, eq < 0 ? "" : decodeComponent(pair.slice(eq + 1)));
  }
  return { path: target.slice(0, mark), params };
}

function decodeComponent(text: string): string {
  if (!text.includes("%") && !text.includes("+")) return text;
  const spaced = text.replaceAll("+", " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** True when the Origin header is allowed. Requests without Origin are not from browsers. */
export function originAllowed(
  origin: string | undefined,
  allowed: readonly string[] | ((origin: string) => boolean) | undefined,
): boolean {
  if (allowed === undefined || origin === undefined) return true;
  if (typeof allowed === "function") return allowed(origin);
  return allowed.includes(origin);
}

/**
 * The client's address: the socket peer, or the right-most untrusted `X-Forwarded-For`
 * hop when the peer is a trusted proxy (the left-most hops are client-controlled).
 */
export function remoteAddress(
  request: IncomingMessage,
  trustProxy: boolean | readonly string[],
): string {
  // Reading the peer is a getpeername(2) per socket: behind a proxy trusted whatever its
  // address, a forwarded request never needs it.
  const header = trustProxy === false ? undefined : request.headers["x-forwarded-for"];
  const value = Array.isArray(header) ? header.join(",") : header;
  if (trustProxy === true && value) {
    const hops = forwardedHops(value);
    if (hops.length > 0) return hops[0] as string;
  }
  const peer = normaliseAddress(request.socket.remoteAddress ?? "");
  if (trustProxy === false || !isTrusted(peer, trustProxy)) return peer;
  if (!value) return peer;
  const hops = forwardedHops(value);
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = hops[i] as string;
    if (i === 0 || !isTrusted(hop, trustProxy)) return hop;
  }
  return peer;
}

/** The hops of an `X-Forwarded-For` value, left (the client's claim) to right. */
function forwardedHops(value: string): string[] {
  return value
    .split(",")
    .map((hop) => normaliseAddress(hop.trim()))
    .filter((hop) => hop !== "");
}

function isTrusted(address: string, trustProxy: boolean | readonly string[]): boolean {
  if (trustProxy === true) return true;
  if (trustProxy === false) return false;
  return trustProxy.includes(address);
}

/** `::ffff:127.0.0.1` -> `127.0.0.1`, so limits count one client once. */
function normaliseAddress(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/**
 * Shared by every upgrade socket until the transport takes it over: a reset peer must never
 * crash the process, and a closure per socket would keep its request alive for the
 * connection's whole life.
 */
export function ignoreSocketError(): void {}

/** Writes a plain HTTP refusal on an upgrade socket and ends it. */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (socket.destroyed) return;
  const body = `${message}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${statusText(status)}`,
    "Connection: close",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`);
}

function statusText(status: number): string {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}
