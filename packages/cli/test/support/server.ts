import type { LifelineServer } from "@lifeline/server";

/** Resolves when the first client subscribes to `topic` (the server says so after `subscribed`). */
export function subscribed(server: LifelineServer, topic: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = server.on("topicActive", (active) => {
      if (active !== topic) return;
      stop();
      resolve();
    });
  });
}
