import type { JWK } from 'jose';

/** The members of each key type that are public (RFC 7518 §6, RFC 8037 §2). */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['kty', 'n', 'e'],
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
};

/** The members that describe a key without revealing any of it. */
const DESCRIPTIVE_MEMBERS = ['kid', 'alg', 'use'] as const;

/**
 * The public part of a JWK: its type's public members plus `kid`, `alg` and `use`, whatever else
 * it held. `undefined` for a key type with no public part (such as `oct`, a shared secret).
 */
export function publicPartOf(jwk: JWK): JWK | undefined {
  const members = PUBLIC_MEMBERS[jwk.kty ?? ''];
  if (members === undefined) return undefined;
  const source = jwk as Record<string, unknown>;
  const publicPart: Record<string, unknown> = {};
  for (const member of [...members, ...DESCRIPTIVE_MEMBERS]) {
    if (typeof source[member] === 'string') publicPart[member] = source[member];
  }
  return publicPart as JWK;
}
