import type { ResumePoint, SubscribedMessage, TopicMessage } from "@lifeline/protocol";
import type { GapEvent } from "./subscribe-options.js";

/** The gap a `recovered: false` answer implies, given the first replayed message. */
export function describeGap(
  topic: string,
  since: ResumePoint,
  answer: SubscribedMessage,
  buffered: readonly TopicMessage[],
): GapEvent {
  const resumedAt = { offset: answer.offset, epoch: answer.epoch };
  const firstReplayed = buffered.find((m) => m.epoch === answer.epoch)?.offset;
  const base = { topic, since, resumedAt };
  if (since.epoch !== answer.epoch) {
    // The old epoch's tail is unknowable; of the new epoch, what came before the replay is lost.
    const toOffset = (firstReplayed ?? answer.offset + 1) - 1;
    return toOffset >= 1
      ? {
          ...base,
          reason: "epoch_changed",
          lost: { epoch: answer.epoch, fromOffset: 1, toOffset },
        }
      : { ...base, reason: "epoch_changed" };
  }
  const fromOffset = since.offset + 1;
  const toOffset = (firstReplayed ?? answer.offset + 1) - 1;
  return toOffset >= fromOffset
    ? { ...base, reason: "history_expired", lost: { epoch: since.epoch, fromOffset, toOffset } }
    : { ...base, reason: "history_expired" };
}
