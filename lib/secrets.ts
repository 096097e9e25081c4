import { hash, randomFillSync } from 'node:crypto';

/**
 * The key a store keeps a code or refresh token under: SHA-256, base64url. The secrets carry at
 * least 256 bits of randomness, so an unsalted hash cannot be reversed, and a leaked store
 * holds nothing that can be redeemed.
 */
export function hashSecret(secret: string): string {
  // The one-shot hash: a fraction of createHash().update().digest()'s cost for inputs this short.
  return hash('sha256', secret, 'base64url');
}

/**
 * Random bytes are drawn from the CSPRNG a block at a time and each byte is handed out once, as
 * node's own randomUUID does: one call per 64 refresh tokens instead of one each, because a
 * call's fixed cost (about 5 µs) is twenty times that of the bytes a secret needs.
 */
const RANDOM_POOL_BYTES = 6144;
const randomPool = Buffer.alloc(RANDOM_POOL_BYTES);
let randomPoolOffset = RANDOM_POOL_BYTES;

/** A fresh random secret of `bytes` random bytes, base64url without padding. */
export function randomSecret(bytes: number): string {
  if (bytes > RANDOM_POOL_BYTES) return randomFillSync(Buffer.alloc(bytes)).toString('base64url');
  if (randomPoolOffset + bytes > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    randomPoolOffset = 0;
  }
  const secret = randomPool.toString('base64url', randomPoolOffset, randomPoolOffset + bytes);
  randomPoolOffset += bytes;
  return secret;
}

/** Authorization codes: 32 random bytes (256 bits), 43 characters. */
export const CODE_BYTES = 32;

/** Refresh tokens: 96 random bytes, 128 characters (SPEC "Success"). */
export const REFRESH_TOKEN_BYTES = 96;

/**
 * The id of the refresh-token family born from a code, derived from the code's hash so that a
 * replayed code (which is looked up by that hash) can revoke the family.
 */
export function familyIdFor(codeKey: string): string {
  return hashSecret(`refresh-family:${codeKey}`);
}
