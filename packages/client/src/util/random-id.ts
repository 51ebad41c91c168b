/** Random URL-safe token from the platform CSPRNG (Web Crypto, global in browsers and Node 20). */
export function randomId(bytes = 9): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-";
  let out = "";
  for (const byte of buffer) out += alphabet[byte & 63];
  return out;
}
