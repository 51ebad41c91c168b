import { PROTOCOL_VERSION, type Role } from "@lifeline/protocol";

/**
 * `GET /ws?client_id=..&version=1&role=..&token=..` (PROTOCOL.md, "Connecting: endpoint and
 * handshake").
 */
export function buildSocketUrl(
  base: string,
  params: { clientId: string; role: Role; token?: string | undefined },
): string {
  const url = new URL(base);
  url.searchParams.set("client_id", params.clientId);
  url.searchParams.set("version", String(PROTOCOL_VERSION));
  url.searchParams.set("role", params.role);
  if (params.token !== undefined) url.searchParams.set("token", params.token);
  return url.toString();
}
