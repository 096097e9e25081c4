import { ConfigurationError, describeValue } from '../config/configuration-error.js';
import { nearestName } from '../config/nearest-name.js';
import { clockOption, positiveInteger } from '../config/option-checks.js';
import type { AuthorizationCodeGrant, AuthorizationCodeStore, Clock } from '../contracts.js';
import { hashSecret, JKT_FORMAT, newAuthorizationCode } from '../crypto/secrets.js';
import { isWellFormedVerifier } from '../grants/pkce.js';

/** What the host's authorization step passes to {@link issueAuthorizationCode}. */
export type AuthorizationCodeRequest = Omit<AuthorizationCodeGrant, 'expiresAt'>;

/** Options of {@link issueAuthorizationCode}. */
export interface IssueCodeOptions {
  /** Seconds until the code expires. Default 600. */
  ttl?: number;
  /** The clock: epoch milliseconds. Default `Date.now`. */
  now?: Clock;
}

/** RFC 7636 §4.2: an S256 challenge is the base64url of a SHA-256 digest, 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 6749 §3.3: scope-token = 1*NQCHAR. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Make a fresh authorization code for a grant the host has decided on, store the grant under the
 * code's hash, and return the code: 256 random bits, base64url. Call it from the authorization
 * step once the user has signed in and consented.
 */
export async function issueAuthorizationCode(
  store: AuthorizationCodeStore,
  grant: AuthorizationCodeRequest,
  options: IssueCodeOptions = {},
): Promise<string> {
  if (typeof store?.save !== 'function') {
    throw new ConfigurationError(
      'ERR_OPTION_INVALID',
      'store',
      'issueAuthorizationCode needs a code store with save(), such as new MemoryCodeStore()',
    );
  }
  const ttl = positiveInteger(options.ttl, 'ttl', 600, 'seconds', 'issueAuthorizationCode');
  const now = clockOption(options.now, 'issueAuthorizationCode');
  const stored: AuthorizationCodeGrant = { ...validateGrant(grant), expiresAt: 0 };
  stored.expiresAt = Math.floor(now() / 1000) + ttl;
  // RFC 9449 §10: a code bound to a key names its thumbprint, for the token endpoint's check (secrets.ts).
  const code = newAuthorizationCode(stored.dpopJkt);
  await store.save(hashSecret(code), stored, stored.expiresAt);
  return code;
}

/** Check a grant field by field, and copy it so later edits by the caller cannot leak in. */
function validateGrant(grant: AuthorizationCodeRequest): AuthorizationCodeRequest {
  const fail = (field: string, expected: string, received: unknown): never => {
    const at = field === '' ? 'grant' : `grant.${field}`;
    throw new ConfigurationError(
      'ERR_GRANT_INVALID',
      field,
      `${at} must be ${expected}; received ${describeValue(received)}${misspeltAs(grant, field, received)}`,
    );
  };
  if (typeof grant !== 'object' || grant === null) return fail('', 'an object', grant);
  const nonEmpty = (field: 'clientId' | 'redirectUri' | 'subject'): string => {
    const value: unknown = grant[field];
    return typeof value === 'string' && value !== '' ? value : fail(field, 'a non-empty string', value);
  };
  const {
    codeChallenge,
    codeChallengeMethod,
    scope,
    nonce,
    authTime,
    acr,
    amr,
    idTokenClaims,
    accessTokenClaims,
    dpopJkt,
  } = grant;
  if (codeChallengeMethod !== 'S256' && codeChallengeMethod !== 'plain') {
    fail('codeChallengeMethod', '"S256" or "plain"', codeChallengeMethod);
  }
  const challengeOk =
    typeof codeChallenge === 'string' &&
    (codeChallengeMethod === 'S256' ? S256_CHALLENGE.test(codeChallenge) : isWellFormedVerifier(codeChallenge));
  if (!challengeOk) fail('codeChallenge', 'a well-formed PKCE challenge (RFC 7636 §4.2)', codeChallenge);
  if (!Array.isArray(scope) || !scope.every((token) => typeof token === 'string' && SCOPE_TOKEN.test(token))) {
    fail('scope', 'an array of scope strings without spaces', scope);
  }
  if (nonce !== undefined && (typeof nonce !== 'string' || nonce === '')) fail('nonce', 'a non-empty string', nonce);
  if (authTime !== undefined && !Number.isSafeInteger(authTime)) fail('authTime', 'whole epoch seconds', authTime);
  if (acr !== undefined && (typeof acr !== 'string' || acr === '')) fail('acr', 'a non-empty string', acr);
  if (
    amr !== undefined &&
    !(Array.isArray(amr) && amr.every((method) => typeof method === 'string' && method !== ''))
  ) {
    fail('amr', 'an array of non-empty strings, such as ["pwd", "otp"]', amr);
  }
  for (const [field, claims] of [
    ['idTokenClaims', idTokenClaims],
    ['accessTokenClaims', accessTokenClaims],
  ] as const) {
    if (claims !== undefined && (typeof claims !== 'object' || claims === null || Array.isArray(claims))) {
      fail(field, 'an object of claims', claims);
    }
  }
  if (dpopJkt !== undefined && (typeof dpopJkt !== 'string' || !JKT_FORMAT.test(dpopJkt))) {
    fail('dpopJkt', 'a base64url SHA-256 key thumbprint, 43 characters (RFC 9449 §10 dpop_jkt)', dpopJkt);
  }
  const copy: AuthorizationCodeRequest = {
    clientId: nonEmpty('clientId'),
    redirectUri: nonEmpty('redirectUri'),
    codeChallenge,
    codeChallengeMethod,
    subject: nonEmpty('subject'),
    scope: [...scope],
  };
  if (nonce !== undefined) copy.nonce = nonce;
  if (authTime !== undefined) copy.authTime = authTime;
  if (acr !== undefined) copy.acr = acr;
  if (amr !== undefined) copy.amr = [...amr];
  if (idTokenClaims !== undefined) copy.idTokenClaims = structuredClone(idTokenClaims);
  if (accessTokenClaims !== undefined) copy.accessTokenClaims = structuredClone(accessTokenClaims);
  if (dpopJkt !== undefined) copy.dpopJkt = dpopJkt;
  return copy;
}

/** The fields of a grant. */
const GRANT_FIELDS = [
  'clientId',
  'redirectUri',
  'codeChallenge',
  'codeChallengeMethod',
  'subject',
  'scope',
  'nonce',
  'authTime',
  'acr',
  'amr',
  'idTokenClaims',
  'accessTokenClaims',
  'dpopJkt',
] as const satisfies readonly (keyof AuthorizationCodeRequest)[];
// Every field of the type is in the list (the `satisfies` above checks the converse).
const everyFieldListed: [Exclude<keyof AuthorizationCodeRequest, (typeof GRANT_FIELDS)[number]>] extends [never]
  ? true
  : never = true;
void everyFieldListed;

/**
 * When a field is missing and the grant holds an unknown field one or two edits from its name
 * (`codeChalenge`), the hint the options get: the host's other fields are left alone, as before.
 */
function misspeltAs(grant: unknown, field: string, received: unknown): string {
  if (received !== undefined || field === '' || typeof grant !== 'object' || grant === null) return '';
  const misspelt = Object.keys(grant).find(
    (name) => !(GRANT_FIELDS as readonly string[]).includes(name) && nearestName(name, GRANT_FIELDS) === field,
  );
  return misspelt === undefined ? '' : `; the grant has "${misspelt}": did you mean "${field}"?`;
}
