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

/** Refresh tokens of earlier versions: 96 random bytes, 128 characters. */
export const REFRESH_TOKEN_BYTES = 96;

/** The random part of a refresh token: 63 bytes (504 bits), 84 characters. */
const REFRESH_TOKEN_RANDOM_BYTES = 63;

/** Family ids are SHA-256 hashes, base64url: 43 characters. */
const FAMILY_ID_LENGTH = 43;

/** An RFC 7638 SHA-256 thumbprint, base64url: 43 characters (what `cnf.jkt` and `dpop_jkt` hold). */
export const JKT_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const JKT_LENGTH = 43;

/**
 * A new refresh token of the family `familyId`: the family's id, a `.`, then 504 random bits,
 * base64url; 128 characters in all. The token names its family so that a store which keeps a
 * family's keys together (one Redis Cluster hash slot) finds the token there, with no index in
 * another slot, and can rotate it and save its successor in one atomic step. The id is no secret
 * (it is derived from the code's hash, and only says which tokens belong together); the random
 * part is what makes the token unguessable.
 *
 * A token bound to a DPoP key (RFC 9449 §5) names the key's thumbprint too, between the two:
 * `{family}.{jkt}.{random}`, 172 characters. The thumbprint is no secret either (it is the hash of
 * a public key, and the access token's `cnf.jkt` says the same), and the router can compare it
 * with a proof's before the token is spent, with no store call. It cannot be altered: the token
 * is looked up by the hash of all of it, so a token with another thumbprint is unknown.
 */
export function newRefreshToken(familyId: string, dpopJkt?: string): string {
  const random = randomSecret(REFRESH_TOKEN_RANDOM_BYTES);
  return dpopJkt === undefined ? `${familyId}.${random}` : `${familyId}.${dpopJkt}.${random}`;
}

const UNBOUND_REFRESH_LENGTH = FAMILY_ID_LENGTH + 1 + 84;
const BOUND_REFRESH_LENGTH = FAMILY_ID_LENGTH + 1 + JKT_LENGTH + 1 + 84;

/**
 * The family a presented refresh token names, or `undefined` for a token without one (issued by
 * an earlier version). A hint only: it comes from the client, and stores check it against the
 * token's key.
 */
export function familyNamedBy(token: string): string | undefined {
  if (token[FAMILY_ID_LENGTH] !== '.') return undefined;
  if (token.length === UNBOUND_REFRESH_LENGTH) return token.slice(0, FAMILY_ID_LENGTH);
  if (token.length === BOUND_REFRESH_LENGTH && token[FAMILY_ID_LENGTH + 1 + JKT_LENGTH] === '.') {
    return token.slice(0, FAMILY_ID_LENGTH);
  }
  return undefined;
}

/** The DPoP key thumbprint a presented refresh token names (see {@link newRefreshToken}), if any. */
export function dpopKeyOfRefreshToken(token: string): string | undefined {
  if (token.length !== BOUND_REFRESH_LENGTH || familyNamedBy(token) === undefined) return undefined;
  return token.slice(FAMILY_ID_LENGTH + 1, FAMILY_ID_LENGTH + 1 + JKT_LENGTH);
}

/**
 * A new authorization code: 256 random bits, base64url, 43 characters; for an authorization
 * request with `dpop_jkt` (RFC 9449 §10), followed by `.` and the thumbprint, so the token
 * endpoint can refuse a proof of another key before the code is redeemed. The thumbprint came in
 * the authorization request's own URL, and the hash of the whole code is its key, so an altered
 * thumbprint is an unknown code.
 */
export function newAuthorizationCode(dpopJkt?: string): string {
  const random = randomSecret(CODE_BYTES);
  return dpopJkt === undefined ? random : `${random}.${dpopJkt}`;
}

/** The `dpop_jkt` a presented code names (see {@link newAuthorizationCode}), if any. */
export function dpopKeyOfCode(code: string): string | undefined {
  const length = 43;
  return code.length === length + 1 + JKT_LENGTH && code[length] === '.' ? code.slice(length + 1) : undefined;
}

/**
 * The id of the refresh-token family born from a code, derived from the code's hash so that a
 * replayed code (which is looked up by that hash) can revoke the family.
 */
export function familyIdFor(codeKey: string): string {
  return hashSecret(`refresh-family:${codeKey}`);
}
