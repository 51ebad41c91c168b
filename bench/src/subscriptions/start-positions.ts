/**
 * Server CPU time of the start positions (PROTOCOL.md, "Start positions" and "History"),
 * each against its plain counterpart in the same run: a subscribe with `rewind: 1` vs a
 * plain subscribe (each followed by its unsubscribe) on a topic with 1,000 retained
 * messages, and a history page of 100 vs a plain request. One connection, one operation
 * in flight, medians of 5 rounds after a warm-up.
 */
import type { Control, Frame } from "./control.js";

export interface StartPositionFigures {
  /** Server CPU µs per subscribe + unsubscribe, plain and with `rewind: 1`. */
  readonly plainSubscribeUs: number;
  readonly rewindSubscribeUs: number;
  /** Server CPU µs per history page of 100, and per plain request. */
  readonly historyPageUs: number;
  readonly requestUs: number;
}

const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1] ?? 0;

export async function measureStartPositions(
  control: Control,
  rounds: number,
): Promise<StartPositionFigures> {
  /** Server CPU microseconds per call of `op`. */
  const per = async (count: number, op: () => Promise<unknown>) => {
    const before = await control.cpu();
    for (let i = 0; i < count; i += 1) await op();
    return ((await control.cpu()) - before) / count;
  };
  const subscribe = (extra: Frame) => async () => {
    await control.ask({ type: "subscribe", topic: "t", ...extra }, "subscribed");
    await control.ask({ type: "unsubscribe", topic: "t" }, "unsubscribed");
  };
  const page = () =>
    control.ask({ type: "history", topic: "t", limit: 100, direction: "backward" }, "response");
  const figures = { plain: [] as number[], rewind: [] as number[], page: [] as number[] };
  const request: number[] = [];
  await per(3000, subscribe({}));
  await per(3000, subscribe({ rewind: 1 }));
  for (let round = 0; round < rounds; round += 1) {
    figures.plain.push(await per(3000, subscribe({})));
    figures.rewind.push(await per(3000, subscribe({ rewind: 1 })));
    figures.page.push(await per(1000, page));
    request.push(await per(3000, () => control.cpu()));
  }
  return {
    plainSubscribeUs: median(figures.plain),
    rewindSubscribeUs: median(figures.rewind),
    historyPageUs: median(figures.page),
    requestUs: median(request),
  };
}
