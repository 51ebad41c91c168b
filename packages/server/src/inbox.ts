import { createHash } from "node:crypto";
import { INBOX_TOPIC } from "@lifeline/protocol";

/**
 * The broker topic behind a connection's `@inbox` (PROTOCOL.md, "Direct messages"):
 * `@inbox/<tag>/<client_id>`, the tag being the first 22 characters of the base64url
 * SHA-256 of the identity. The identity is part of the name so that a client_id reused by
 * another user (a shared browser, or one guessed from presence) opens an empty inbox
 * rather than the previous user's. Clients never see or name it: on the wire an inbox is
 * always `@inbox`, and the server refuses every topic under `@inbox/`.
 */
export function inboxTopic(user: string, clientId: string): string {
  const tag = createHash("sha256").update(user).digest("base64url").slice(0, 22);
  return `${INBOX_TOPIC}/${tag}/${clientId}`;
}
