/** An acknowledged publish: where its topic's log put it. */
export interface PlacedPublish {
  readonly topic: string;
  readonly offset: number;
  readonly epoch: string;
}

/**
 * Checks that each topic's acknowledged publishes, listed in the order `publish()` was
 * called, took consecutive offsets from `firstOffset[topic]` (default 1) in one epoch:
 * appended in call order, none twice, none missing between them (PROTOCOL.md, "Publish
 * order"). Returns the problems found, empty when there are none.
 */
export function publishOrderProblems(
  acks: readonly PlacedPublish[],
  firstOffset: Readonly<Record<string, number>> = {},
): string[] {
  const problems: string[] = [];
  const next = new Map<string, { offset: number; epoch: string }>();
  acks.forEach((ack, call) => {
    const expected = next.get(ack.topic) ?? {
      offset: firstOffset[ack.topic] ?? 1,
      epoch: ack.epoch,
    };
    if (ack.offset !== expected.offset || ack.epoch !== expected.epoch) {
      problems.push(
        `call ${call} to "${ack.topic}" was appended at ${ack.offset}/${ack.epoch}, expected ${expected.offset}/${expected.epoch}`,
      );
    }
    next.set(ack.topic, { offset: ack.offset + 1, epoch: ack.epoch });
  });
  return problems;
}
