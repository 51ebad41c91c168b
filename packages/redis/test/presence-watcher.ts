import type { PresenceChange, PresenceEntry } from "@lifeline/protocol";
import type { RedisBroker } from "../src/index.js";
import { within } from "./helpers.js";

// What the presence tests share: a member entry, a watch that keeps the members it sees.

export const entry = (clientId: string): PresenceEntry => ({
  clientId,
  joinedAt: 1_700_000_000_000,
});
export const ids = (entries: readonly PresenceEntry[]) => entries.map((e) => e.clientId).sort();

/** The members a watch sees: its snapshot plus every change since, and a wait on them. */
export async function watcher(b: RedisBroker, topic: string, disposers: (() => Promise<void>)[]) {
  const changes: PresenceChange[] = [];
  const members = new Map<string, PresenceEntry>();
  const waiters = new Set<() => void>();
  const watch = await presenceOf(b).watch(topic, (change) => {
    changes.push(change);
    for (const e of change.leaves) members.delete(e.clientId);
    for (const e of change.joins) members.set(e.clientId, e);
    for (const wake of [...waiters]) wake();
  });
  for (const e of watch.members) members.set(e.clientId, e);
  disposers.push(() => watch.stop());
  return {
    changes,
    ids: () => [...members.keys()].sort(),
    until(check: () => boolean, label: string, timeoutMs = 10_000): Promise<void> {
      if (check()) return Promise.resolve();
      return within(
        new Promise<void>((resolve) => {
          const wake = () => {
            if (!check()) return;
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
        }),
        label,
        timeoutMs,
      );
    },
  };
}

export function presenceOf(b: RedisBroker) {
  if (!b.presence) throw new Error("no presence");
  return b.presence;
}
