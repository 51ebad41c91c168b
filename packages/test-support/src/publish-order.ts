import fc from "fast-check";
import { within } from "./within.js";

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

/** One run's rig: a server whose broker refuses the chosen appends, and a client of it. */
export interface PublishOrderRig {
  publish(topic: string, n: number): Promise<PlacedPublish>;
  /** The offset the broker's log of `topic` stands at. */
  headOffset(topic: string): Promise<number>;
}

/**
 * The publish-order property (PROTOCOL.md, "Publish order") over refusal patterns: a
 * client publishes `count` numbers round-robin over up to three topics without waiting,
 * while the broker refuses the appends `refusals` picks (by call number); every topic's
 * acknowledgements must take consecutive offsets in call order, and its log must hold
 * exactly that many. `makeRig` starts a fresh server and client; `afterRun` disposes them.
 */
export function publishOrderProperty(
  makeRig: (refusals: readonly boolean[]) => Promise<PublishOrderRig>,
  afterRun: () => Promise<void>,
  maxCount = 24,
) {
  return fc.asyncProperty(
    fc.integer({ min: 1, max: maxCount }),
    fc.integer({ min: 1, max: 3 }),
    fc.array(fc.boolean(), { maxLength: 2 * maxCount }),
    async (count, topics, refusals) => {
      try {
        const rig = await makeRig(refusals);
        const calls = Array.from({ length: count }, (_, n) =>
          rig.publish(`order/${n % topics}`, n),
        );
        const acks = await within(Promise.all(calls), `${count} publishes acknowledged`, 10_000);
        const problems = publishOrderProblems(acks);
        for (let topic = 0; topic < topics; topic += 1) {
          const name = `order/${topic}`;
          const acked = acks.filter((a) => a.topic === name).length;
          const head = await rig.headOffset(name);
          if (head !== acked) problems.push(`"${name}" holds ${head} entries for ${acked} acks`);
        }
        if (problems.length > 0) throw new Error(problems.join("\n"));
      } finally {
        await afterRun();
      }
    },
  );
}
