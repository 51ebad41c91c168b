import { within } from "./within.js";

/**
 * The part of `@lifeline/client`'s client a round trip uses. Structural, so this package
 * depends on no Lifeline package.
 */
export interface RoundTripClient {
  request(method: "echo", params: unknown): Promise<unknown>;
  subscribe(
    topic: string,
    handler: (data: unknown) => void,
    options?: { readonly rewind?: number },
  ): () => void;
  publish(topic: string, data: unknown): Promise<{ readonly offset: number }>;
}

export interface RoundTrip {
  /** What the server's `echo` method answered to `{ text: "ping" }`. */
  readonly echoed: unknown;
  /** The first message the subscription delivered after the client published it. */
  readonly delivered: unknown;
  /** The offset the publish was acknowledged with. */
  readonly offset: number;
}

/**
 * One request (`echo`) and one publish to `topic` that the same client is subscribed to:
 * what every example app serves. The subscription starts with `rewind` so the message is
 * delivered whether the publish is appended before or after the subscription goes live.
 */
export async function roundTrip(client: RoundTripClient, topic: string): Promise<RoundTrip> {
  const echoed = await within(client.request("echo", { text: "ping" }), "echo's response");
  let unsubscribe = (): void => {};
  const delivery = new Promise<unknown>((resolve) => {
    unsubscribe = client.subscribe(topic, resolve, { rewind: 10 });
  });
  try {
    const ack = await within(client.publish(topic, { text: "hello" }), "publish ack");
    const delivered = await within(delivery, `delivery on ${topic}`);
    return { echoed, delivered, offset: ack.offset };
  } finally {
    unsubscribe();
  }
}
