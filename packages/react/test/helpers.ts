import { type ClientOptions, createClient, type LifelineClient } from "@lifeline/client";
import type { ContractSpec } from "@lifeline/protocol";
import { createServer, type LifelineServer } from "@lifeline/server";
import { startServer, type TestServer } from "@lifeline/test-support";
import WebSocket from "ws";

type ServerOptions = NonNullable<Parameters<typeof createServer>[0]>;

/** A real server on 127.0.0.1:0 that counts every `subscribe` it is asked to allow, per topic. */
export interface CountingServer extends TestServer<LifelineServer> {
  /** `subscribe`s that reached the server, per topic. */
  readonly subscribes: Map<string, number>;
}

export async function startCountingServer(options: ServerOptions = {}): Promise<CountingServer> {
  const subscribes = new Map<string, number>();
  const started = await startServer(createServer, {
    port: 0,
    host: "127.0.0.1",
    ...options,
    authorize: (_principal: unknown, topic: string, action: string) => {
      if (action === "subscribe") subscribes.set(topic, (subscribes.get(topic) ?? 0) + 1);
      return topic !== "secret";
    },
  } as ServerOptions);
  return { ...started, subscribes };
}

/** Client options for a Node test against `server`: `ws` (not jsdom's WebSocket), quiet. */
export function clientOptions<S extends ContractSpec = ContractSpec>(
  server: { readonly url: string },
  extra: Partial<ClientOptions<S>> = {},
): ClientOptions<S> {
  return {
    url: server.url,
    WebSocket: WebSocket as never,
    lifecycle: false,
    logLevel: "silent",
    clientIdStorage: {},
    ...extra,
  } as ClientOptions<S>;
}

export function testClient<S extends ContractSpec = ContractSpec>(
  server: { readonly url: string },
  extra: Partial<ClientOptions<S>> = {},
): LifelineClient<S> {
  return createClient<S>(clientOptions(server, extra));
}
