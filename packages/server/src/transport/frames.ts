/**
 * WebSocket framing of RFC 6455 section 5.2, for frames the server sends: final, unmasked,
 * header and payload in one buffer. Plain bytes, no `ws` involved: the `ws` adapter decides
 * whether it may write them straight to the socket.
 */

/** RFC 6455 5.2 opcodes of the data frames Lifeline sends. */
export const Opcode = { Text: 0x1, Binary: 0x2 } as const;

/** An empty, unmasked ping control frame (RFC 6455 section 5.5.2). */
export const PING_FRAME: Buffer = Buffer.from([0x89, 0x00]);

/** The header size for a payload of `bytes`: 7-bit length, or 126 + 16-bit, or 127 + 64-bit. */
function headerSize(bytes: number): number {
  return bytes < 126 ? 2 : bytes < 65_536 ? 4 : 10;
}

function writeHeader(frame: Buffer, at: number, opcode: number, bytes: number): number {
  const header = headerSize(bytes);
  frame[at] = 0x80 | opcode;
  if (header === 2) {
    frame[at + 1] = bytes;
  } else if (header === 4) {
    frame[at + 1] = 126;
    frame.writeUInt16BE(bytes, at + 2);
  } else {
    frame[at + 1] = 127;
    frame.writeUInt32BE(Math.floor(bytes / 2 ** 32), at + 2);
    frame.writeUInt32BE(bytes >>> 0, at + 6);
  }
  return at + header;
}

/**
 * Frames `text` (of `bytes` UTF-8 bytes) as one text frame, after `prefix` (a ping frame, for
 * the heartbeat) in the same buffer.
 */
export function textFrame(text: string, bytes: number, prefix?: Buffer): Buffer {
  const before = prefix === undefined ? 0 : prefix.length;
  const frame = Buffer.allocUnsafe(before + headerSize(bytes) + bytes);
  if (prefix !== undefined) prefix.copy(frame, 0);
  frame.write(text, writeHeader(frame, before, Opcode.Text, bytes), "utf8");
  return frame;
}

/** Frames `payload` as one binary frame, after `prefix` in the same buffer. */
export function binaryFrame(payload: Uint8Array, prefix?: Buffer): Buffer {
  const before = prefix === undefined ? 0 : prefix.length;
  const bytes = payload.byteLength;
  const frame = Buffer.allocUnsafe(before + headerSize(bytes) + bytes);
  if (prefix !== undefined) prefix.copy(frame, 0);
  frame.set(payload, writeHeader(frame, before, Opcode.Binary, bytes));
  return frame;
}
