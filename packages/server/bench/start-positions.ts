/**
 * Server CPU time of the start positions (PROTOCOL.md, "Start positions" and "History"),
 * each against its plain counterpart in the same run: a subscribe with `rewind: 1` vs a
 * plain subscribe (each followed by its unsubscribe) on a topic with 1,000 retained
 * messages, and a history page of 100 vs a plain request. One connection, one operation
 * in flight, medians of 5 rounds after a warm-up.
 *
 *   cd packages/server && node --conditions=@lifeline/source --import tsx bench/start-positions.ts
 *
 * Measured on a shared 2-core machine (three runs): a subscribe + unsubscribe costs
 * 66.7-69.2 µs plain and 92.1-97.5 µs with `rewind: 1` (1.37x-1.46x; the replayed message
 * is serialised and framed for one socket, and the rewind reads the head, then the
 * history); a history page of 100 costs 150-195 µs against 34-43 µs for a plain request.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";

type Frame = Record<string, unknown>;

async function main(): Promise<void> {
  const child = fork(fileURLToPath(new URL("./start-positions-server.ts", import.meta.url)), {
    execArgv: ["--conditions=@lifeline/source", "--import", "tsx"],
  });
  const port = await new Promise<number>((resolve) =>
    child.once("message", (m) => resolve((m as { port: number }).port)),
  );
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?client_id=bench&version=1&role=test`, [
    "lifeline.v1",
  ]);
  let waiting: { match: (m: Frame) => boolean; resolve: (m: Frame) => void } | undefined;
  ws.on("message", (raw) => {
    const message = JSON.parse(String(raw)) as Frame;
    if (waiting?.match(message)) {
      const { resolve } = waiting;
      waiting = undefined;
      resolve(message);
    }
  });
  const next = (match: (m: Frame) => boolean) =>
    new Promise<Frame>((resolve) => {
      waiting = { match, resolve };
    });
  let n = 0;
  const ask = async (message: Frame, answer: string) => {
    const id = `${n++}`;
    const reply = next((m) => m.id === id && m.type === answer);
    ws.send(JSON.stringify({ ...message, id }));
    return reply;
  };
  await next((m) => m.type === "hello");
  const cpu = async () =>
    (await ask({ type: "request", method: "cpu" }, "response")).result as number;
  /** Server CPU microseconds per call of `op`. */
  const per = async (count: number, op: () => Promise<unknown>) => {
    const before = await cpu();
    for (let i = 0; i < count; i += 1) await op();
    return ((await cpu()) - before) / count;
  };
  const subscribe = (extra: Frame) => async () => {
    await ask({ type: "subscribe", topic: "t", ...extra }, "subscribed");
    await ask({ type: "unsubscribe", topic: "t" }, "unsubscribed");
  };
  const page = () =>
    ask({ type: "history", topic: "t", limit: 100, direction: "backward" }, "response");
  const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1] ?? 0;
  const rounds = {
    plain: [] as number[],
    rewind: [] as number[],
    page: [] as number[],
    request: [] as number[],
  };
  await per(3000, subscribe({}));
  await per(3000, subscribe({ rewind: 1 }));
  for (let round = 0; round < 5; round += 1) {
    rounds.plain.push(await per(3000, subscribe({})));
    rounds.rewind.push(await per(3000, subscribe({ rewind: 1 })));
    rounds.page.push(await per(1000, page));
    rounds.request.push(await per(3000, cpu));
  }
  const [plain, rewind] = [median(rounds.plain), median(rounds.rewind)];
  console.log(
    `subscribe + unsubscribe, 1,000 retained: plain ${plain.toFixed(1)} µs, rewind 1 ${rewind.toFixed(1)} µs (${(rewind / plain).toFixed(2)}x)`,
  );
  console.log(
    `history page of 100: ${median(rounds.page).toFixed(1)} µs; plain request: ${median(rounds.request).toFixed(1)} µs`,
  );
  ws.close();
  child.kill();
}

void main();
