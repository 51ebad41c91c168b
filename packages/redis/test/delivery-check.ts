/** Where one delivered message sits in its topic's log. */
export interface Position {
  readonly epoch: string;
  readonly offset: number;
}

/** What a sequence of deliveries of one topic to one client looks like. */
export interface DeliveryReport {
  readonly count: number;
  /** Positions delivered a second time. */
  readonly duplicates: Position[];
  /** Offsets skipped within an epoch (inclusive ranges). */
  readonly gaps: { epoch: string; from: number; to: number }[];
  /** Positions that came after a higher offset of the same epoch without being a duplicate. */
  readonly outOfOrder: Position[];
  /** Epochs in the order they were first seen. */
  readonly epochs: string[];
  readonly first: Position | undefined;
  readonly last: Position | undefined;
}

/**
 * Checks the positions one client received for one topic, in arrival order: within an
 * epoch each offset must come once, right after the previous one. A change of epoch starts
 * over (the client is told with a gap event; the test decides whether one was allowed).
 */
export function checkDeliveries(positions: readonly Position[]): DeliveryReport {
  const duplicates: Position[] = [];
  const gaps: { epoch: string; from: number; to: number }[] = [];
  const outOfOrder: Position[] = [];
  const epochs: string[] = [];
  const seen = new Set<string>();
  let epoch: string | undefined;
  let last = 0;
  for (const position of positions) {
    const key = `${position.epoch}/${position.offset}`;
    if (seen.has(key)) {
      duplicates.push(position);
      continue;
    }
    seen.add(key);
    if (position.epoch !== epoch) {
      epoch = position.epoch;
      if (!epochs.includes(epoch)) epochs.push(epoch);
      last = position.offset;
      continue;
    }
    if (position.offset < last) outOfOrder.push(position);
    else {
      if (position.offset > last + 1)
        gaps.push({ epoch: position.epoch, from: last + 1, to: position.offset - 1 });
      last = position.offset;
    }
  }
  return {
    count: positions.length,
    duplicates,
    gaps,
    outOfOrder,
    epochs,
    first: positions[0],
    last: positions.at(-1),
  };
}
