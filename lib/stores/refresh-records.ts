import type { AuthorizationCodeGrant, FirstRefreshToken, RefreshTokenRecord } from '../contracts.js';

/**
 * The facts a refresh token carries forward from the grant it was born of: who, for which
 * client, with which scopes, bound to which DPoP key, and how the user authenticated (OIDC Core §12.2: a refreshed ID token
 * keeps `auth_time`, `acr`, `amr`, and never the `nonce`).
 */
export const CARRIED_FIELDS = [
  'clientId',
  'subject',
  'scope',
  'authTime',
  'acr',
  'amr',
  'idTokenClaims',
  'accessTokenClaims',
  // The DPoP key a token is bound to (RFC 9449 §5): a successor, or a reissued sibling, keeps it.
  'dpopJkt',
] as const;

/**
 * The carried fields a family's first record takes from the code's grant: all but `dpopJkt`. A
 * grant's `dpopJkt` is the code's binding (RFC 9449 §10), not the family's: the family's binding
 * is the router's decision at the exchange (a public client's proof key, §5), given in
 * `FirstRefreshToken.dpopJkt`.
 */
export const GRANT_CARRIED_FIELDS = CARRIED_FIELDS.filter((field) => field !== 'dpopJkt');

type Carried = Pick<RefreshTokenRecord, (typeof CARRIED_FIELDS)[number]>;

/** The carried facts of `source` (a grant, a record, or a store's stored form of either), copied. */
export function carriedFacts(source: Carried): Carried {
  const facts: Partial<Record<(typeof CARRIED_FIELDS)[number], unknown>> = {};
  for (const field of CARRIED_FIELDS) {
    const value = source[field];
    // null: a store's "none" (RedisCodeStore writes `dpopJkt: null` over a grant's own).
    if (value !== undefined && value !== null) facts[field] = Array.isArray(value) ? [...(value as unknown[])] : value;
  }
  return facts as Carried;
}

/**
 * The record of the first refresh token of the family a code exchange starts: the grant's
 * carried facts, with the family and the times of `first`. Every store's atomic exchange saves
 * exactly this (see `AtomicCodeExchange`).
 */
export function firstRefreshTokenRecord(grant: AuthorizationCodeGrant, first: FirstRefreshToken): RefreshTokenRecord {
  const { dpopJkt: _codeBinding, ...facts } = carriedFacts(grant);
  return {
    ...facts,
    familyId: first.familyId,
    familyExpiresAt: first.familyExpiresAt,
    expiresAt: first.expiresAt,
    ...(first.dpopJkt === undefined ? {} : { dpopJkt: first.dpopJkt }),
  };
}

/**
 * A record as a store keeps it, which may hold more than a record (a grant's own fields, when
 * the store copied the grant as it was), back to exactly a `RefreshTokenRecord`.
 */
export function storedRefreshTokenRecord(stored: RefreshTokenRecord): RefreshTokenRecord {
  const record: RefreshTokenRecord = {
    ...carriedFacts(stored),
    familyId: stored.familyId,
    familyExpiresAt: stored.familyExpiresAt,
  };
  if (stored.expiresAt !== undefined) record.expiresAt = stored.expiresAt;
  return record;
}

/** The successor of a rotated record: the same facts, kept until `expiresAt` or the family's end. */
export function successorRecord(record: RefreshTokenRecord, expiresAt: number): RefreshTokenRecord {
  return { ...record, expiresAt: Math.min(expiresAt, record.familyExpiresAt) };
}

/**
 * How long a refresh-token store remembers the revocation of a family it never saw, in seconds:
 * the family's first token may still be on its way to `save` (a code replayed while its first
 * redemption is being answered), and must not outlive the revocation.
 */
export const UNSEEN_FAMILY_REVOCATION_TTL = 86_400;
