import { WebSocket } from "ws";
import { within } from "./helpers.js";

export interface Frame {
  readonly type: string;
  readonly id?: string;
  readonly ok?: boolean;
  readonly result?: { offset: number; epoch: string };
}

/**
 * A bare protocol connection, so a test chooses the publish ids itself; its socket is
 * terminated by the next run of `disposers`.
 */
export async function openRawConnection(
  disposers: (() => Promise<void> | void)[],
  url: string,
  clientId: string,
) {
  const socket = new WebSocket(`${url}?client_id=${clientId}&version=1&role=test`, "lifeline.v1");
  disposers.push(() => socket.terminate());
  const frames: Frame[] = [];
  const waiting = new Set<() => void>();
  socket.on("message", (raw) => {
    frames.push(JSON.parse(String(raw)) as Frame);
    for (const wake of [...waiting]) wake();
  });
  function next(match: (frame: Frame) => boolean, label: string): Promise<Frame> {
    const found = frames.find(match);
    if (found) return Promise.resolve(found);
    let wake = () => {};
    const arrived = new Promise<Frame>((resolve) => {
      wake = () => {
        const frame = frames.find(match);
        if (frame) resolve(frame);
      };
      waiting.add(wake);
    });
    return within(arrived, label, 5000).finally(() => waiting.delete(wake));
  }
  await next((f) => f.type === "hello", `hello from ${url}`);
  return {
    async publish(id: string, topic: string, data: unknown): Promise<Frame> {
      socket.send(JSON.stringify({ type: "publish", id, topic, data }));
      return await next((f) => f.type === "response" && f.id === id, `ack of ${id}`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.close(1000);
      }),
  };
}
