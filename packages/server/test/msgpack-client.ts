import { connect, packCodec } from "@lifeline/test-support";

export { packCodec, plainBytes } from "@lifeline/test-support";

/** A raw client of `server` on the MessagePack wire (or the one `protocols` lands on). */
export function openPackClient(
  server: { readonly port: number },
  clientId: string,
  protocols?: readonly string[],
): ReturnType<typeof connect> {
  return connect(server, clientId, "", {}, packCodec(protocols));
}
