import type { HistoryDirection, HistoryEntry, HistoryPage, ResumePoint } from "@lifeline/protocol";
import type { Broker, LogEntry } from "./broker.js";

/** What a `history` asks for (PROTOCOL.md, "History"). */
export interface HistoryQuery {
  readonly topic: string;
  readonly since: ResumePoint | undefined;
  readonly limit: number;
  readonly direction: HistoryDirection;
}

/**
 * Reads one page of `topic`'s retained messages. The broker interface reads "everything
 * after an offset", so each direction starts its read as late as it can: a backward page
 * reads only the `limit + 1` offsets below its starting point (and what was appended
 * since), a forward page reads from `since` on. One entry more than the page is read, so
 * `next` is given only when another page exists.
 */
export async function readHistoryPage(broker: Broker, query: HistoryQuery): Promise<HistoryPage> {
  const { topic, since, limit, direction } = query;
  if (direction === "forward") {
    const read = await broker.readSince(topic, since?.offset ?? 0, since?.epoch);
    if (since && read.epoch !== since.epoch) return emptyPage(topic, read.epoch, read.head);
    const entries = read.entries.slice(0, limit + 1);
    const page = entries.slice(0, limit);
    const last = page.at(-1);
    return pageOf(topic, read.epoch, read.head, page, entries.length > limit ? last : undefined);
  }
  // Backward: below `since`, or from the head at the time of the read.
  let upper: number;
  let epoch: string;
  if (since) {
    upper = since.offset;
    epoch = since.epoch;
  } else {
    const head = await broker.head(topic);
    upper = head.offset + 1;
    epoch = head.epoch;
  }
  const read = await broker.readSince(topic, Math.max(0, upper - 2 - limit), epoch);
  if (read.epoch !== epoch) {
    if (since) return emptyPage(topic, read.epoch, read.head);
    // History lost between the head and the read: page back from the new epoch's head.
    upper = read.head + 1;
  }
  const below = read.entries.filter((entry) => entry.offset < upper);
  const entries = below.slice(-(limit + 1));
  const page = entries.slice(-limit).reverse();
  const oldest = page.at(-1);
  return pageOf(topic, read.epoch, read.head, page, entries.length > limit ? oldest : undefined);
}

function pageOf(
  topic: string,
  epoch: string,
  head: number,
  entries: readonly LogEntry[],
  cursor: LogEntry | undefined,
): HistoryPage {
  const messages: HistoryEntry[] = entries.map((entry) => ({
    offset: entry.offset,
    // A message must carry `data` (PROTOCOL.md): JSON would drop an undefined one.
    data: entry.data === undefined ? null : entry.data,
    ts: entry.ts,
  }));
  return cursor
    ? { topic, epoch, head, messages, next: { offset: cursor.offset, epoch } }
    : { topic, epoch, head, messages };
}

/** `since` names another epoch: its history is gone, so there is nothing to page through. */
function emptyPage(topic: string, epoch: string, head: number): HistoryPage {
  return { topic, epoch, head, messages: [] };
}
