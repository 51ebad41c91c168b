import { connect, packCodec } from "@lifeline/test-support";

export { packCodec } from "@lifeline/test-support";

/** A raw client of `server` on the MessagePack wire (or the one `protocols` lands on). */
export function openPackClient(
  server: { readonly port: number },
  clientId: string,
  protocols?: readonly string[],
): ReturnType<typeof connect> {
  return connect(server, clientId, "", {}, packCodec(protocols));
}

/** Bytes as a plain Uint8Array (a decoder may hand out Buffer views), to compare them. */
export function plainBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`expected bytes, got ${typeof value}`);
  return new Uint8Array(value);
}
