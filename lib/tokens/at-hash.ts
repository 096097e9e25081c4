import { createHash } from 'node:crypto';

/** The hash each JWS algorithm's `_hash` claims use: the one of the signature (OIDC Core §3.1.3.6). */
function hashFor(alg: string): 'sha256' | 'sha384' | 'sha512' {
  // OIDC Core 1.0 errata set 2: Ed25519 signatures (EdDSA) use SHA-512.
  if (alg === 'EdDSA' || alg === 'Ed25519') return 'sha512';
  const match = /^(?:RS|PS|ES)(256|384|512)$/.exec(alg);
  if (match === null) throw new Error(`at_hash: no hash is defined for alg ${alg}`);
  return `sha${match[1] as '256' | '384' | '512'}`;
}

/**
 * OIDC Core §3.1.3.6: the ID token's `at_hash` is the base64url of the left-most half of the
 * hash of the access token's ASCII octets, with the hash the ID token's `alg` uses.
 */
export function atHash(accessToken: string, alg: string): string {
  const digest = createHash(hashFor(alg)).update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
