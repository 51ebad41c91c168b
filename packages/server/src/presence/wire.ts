import type { PresenceEntry, PresenceMember, PresenceState } from "@lifeline/protocol";

/** A member as PROTOCOL.md writes it: snake_case, `user` only when there is one. */
export function toWireMember(entry: PresenceEntry): PresenceMember {
  return entry.user === undefined
    ? { client_id: entry.clientId, joined_at: entry.joinedAt }
    : { client_id: entry.clientId, user: entry.user, joined_at: entry.joinedAt };
}

/** The answer to a `presence`: every member up to `maxMembers`, and their full count. */
export function toPresenceState(
  topic: string,
  members: Iterable<PresenceEntry>,
  count: number,
  maxMembers: number,
): PresenceState {
  const listed: PresenceMember[] = [];
  for (const entry of members) {
    if (listed.length >= maxMembers) break;
    listed.push(toWireMember(entry));
  }
  return { topic, count, members: listed };
}
