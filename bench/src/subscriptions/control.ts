import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";

export type Frame = Record<string, unknown>;

/** The benchmark server in its own process; `source` runs the packages from TypeScript. */
export async function startBenchServer(
  source: boolean,
): Promise<{ readonly port: number; stop(): void }> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./server-main.ts", import.meta.url)), {
    execArgv: [
      "--expose-gc",
      ...(source ? ["--conditions=@lifeline/source"] : []),
      "--import",
      "tsx",
    ],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { port, stop: () => child.kill() };
}

/** One protocol connection that asks one thing at a time and waits for its answer. */
export interface Control {
  ask(message: Frame, answer: string): Promise<Frame>;
  call(method: string, params?: unknown): Promise<unknown>;
  /** The server process's CPU time so far, in microseconds. */
  cpu(): Promise<number>;
  close(): void;
}

export async function openControl(port: number, clientId = "control"): Promise<Control> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?client_id=${clientId}&version=1&role=test`, [
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
  await next((m) => m.type === "hello");
  let n = 0;
  const ask = (message: Frame, answer: string): Promise<Frame> => {
    const id = `${n++}`;
    const reply = next((m) => m.id === id && m.type === answer);
    ws.send(JSON.stringify({ ...message, id }));
    return reply;
  };
  const call = async (method: string, params?: unknown) =>
    (
      await ask(
        { type: "request", method, ...(params === undefined ? {} : { params }) },
        "response",
      )
    ).result;
  return {
    ask,
    call,
    cpu: async () => (await call("cpu")) as number,
    close: () => ws.close(),
  };
}
