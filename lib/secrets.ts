import { createHash, randomBytes } from 'node:crypto';

/**
 * The key a store keeps a code or refresh token under: SHA-256, base64url. The secrets carry at
 * least 256 bits of randomness, so an unsalted hash cannot be reversed, and a leaked store
 * holds nothing that can be redeemed.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** A fresh random secret of `bytes` random bytes, base64url without padding. */
export function randomSecret(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
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
