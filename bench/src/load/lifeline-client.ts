/**
 * The real `@lifeline/client`, used where the client itself is what is measured: the
 * reconnect storm (its default backoff) and the per-message client overhead.
 */
import { createClient, type WebSocketConstructor } from "@lifeline/client";
import WebSocket from "ws";
import { TOPIC } from "../payload.js";
import type { StormClient, StormHooks } from "./storm-clients.js";

// `ws` fits the client's five-member socket interface; its constructor types are wider.
const WebSocketImpl = WebSocket as unknown as WebSocketConstructor;

function url(port: number): string {
  return `ws://127.0.0.1:${port}/ws`;
}

export function startLifelineStormClient(
  port: number,
  clientId: string,
  hooks: StormHooks,
): StormClient {
  let resolveFirst!: () => void;
  const firstOpen = new Promise<void>((resolve) => {
    resolveFirst = resolve;
  });
  let attempts = 0;
  let wasOpen = false;
  const client = createClient({
    url: url(port),
    clientId,
    role: "test",
    WebSocket: WebSocketImpl,
    logLevel: "silent",
  });
  client.subscribeState((change) => {
    if (change.next === "connecting") attempts++;
    if (change.next === "open") {
      wasOpen = true;
      resolveFirst();
      hooks.onUp();
    } else if (wasOpen) {
      wasOpen = false;
      hooks.onDown();
    }
  });
  return {
    firstOpen,
    wasDown: false,
    counted: false,
    attempts: () => attempts,
    close: () => {
      void client.close();
    },
  };
}

/** Subscribes one Lifeline client to the bench topic; resolves with its disposer. */
export async function subscribeWithLifelineClient(
  port: number,
  clientId: string,
  handler: (data: unknown) => void,
): Promise<() => void> {
  const client = createClient({
    url: url(port),
    clientId,
    role: "test",
    WebSocket: WebSocketImpl,
    logLevel: "silent",
  });
  await new Promise<void>((resolve) => {
    const undo = client.subscribeState((change) => {
      if (change.next === "open") {
        undo();
        resolve();
      }
    });
  });
  client.subscribe(TOPIC, (data) => handler(data));
  return () => {
    void client.close();
  };
}
