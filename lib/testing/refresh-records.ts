import type { RefreshTokenRecord } from '../contracts.js';
import { CODE_BYTES, familyIdFor, hashSecret, REFRESH_TOKEN_BYTES, randomSecret } from '../crypto/secrets.js';

/* The records and keys the refresh-token contract tests save: fresh for every test. */

/** A record with every optional field set, in a fresh family. */
export function fullRecord(familyExpiresAt: number, familyId = freshFamily()): RefreshTokenRecord {
  return {
    clientId: 'contract-client',
    subject: 'user-Ünïcødé-🔑',
    scope: ['openid', 'offline_access'],
    familyId,
    familyExpiresAt,
    expiresAt: familyExpiresAt - 600,
    authTime: 1_700_000_000,
    acr: 'urn:example:loa:2',
    amr: ['pwd', 'otp'],
    idTokenClaims: { name: 'Alice', groups: ['a', 'b'] },
    accessTokenClaims: { tenant: 't-1', level: 3 },
    // A DPoP key's RFC 7638 thumbprint: the binding every successor and sibling must keep.
    dpopJkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I',
  };
}

export function freshFamily(): string {
  return familyIdFor(freshCodeKey());
}

/** The key of a fresh code: a family's id is derived from it. */
export function freshCodeKey(): string {
  return hashSecret(randomSecret(CODE_BYTES));
}

/** A fresh key, as the router makes them: the hash of a fresh refresh token. */
export function freshKey(): string {
  return hashSecret(randomSecret(REFRESH_TOKEN_BYTES));
}
