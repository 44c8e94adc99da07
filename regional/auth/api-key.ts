import { createHash, randomBytes } from "node:crypto";

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** `bw_` and eight characters: enough to find a key's row and to show people which key. */
export const keyPrefixLength = 11;

/** A new API key: `bw_` and 32 base62 characters (≈190 bits). */
export function generateApiKey(): string {
  let body = "";
  while (body.length < 32) {
    // 248 = 4 × 62: bytes above it are dropped so every character is equally likely.
    for (const byte of randomBytes(40)) if (byte < 248 && body.length < 32) body += alphabet[byte % 62];
  }
  return `bw_${body}`;
}

export function hashApiKey(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

export function keyPrefix(key: string): string {
  return key.slice(0, keyPrefixLength);
}
