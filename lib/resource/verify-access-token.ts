import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { ConfigurationError } from '../config/configuration-error.js';
import { checkOptionsObject, clockOption, invalidOption } from '../config/option-checks.js';
import type { AnyKeyStore, Clock } from '../contracts.js';
import { SIGNING_ALGORITHMS } from '../crypto/signing-key-check.js';
import { ACCESS_TOKEN_FORMATS, type AccessTokenFormat, REFRESH_FAMILY_CLAIM } from '../tokens/claims.js';
import { KeyStoreUnavailable, publishedKeysOf } from './published-keys.js';

/*
 * The check of an access token the router issued (docs/protecting-an-api.md): its signature by a
 * key of the key store, then the claims of its shape (docs/contract.md "Success"). Shared by
 * requireAccessToken and the UserInfo endpoint.
 */

/** How an access token is verified. */
export interface VerifyAccessTokenOptions {
  /** The key store the router signs with; its `publicJwks()` is read in process, never fetched. */
  keyStore: AnyKeyStore;
  /** The router's `issuer`: the token's `iss` must be exactly this. */
  issuer: string;
  /** The router's `accessTokenFormat`: `'ciam'` (default) or `'rfc9068'`. */
  accessTokenFormat?: AccessTokenFormat;
  /**
   * `rfc9068` only, and required there: the `aud` this resource server answers to (the router's
   * `accessTokenAudience`, or one of them). RFC 9068 §4: a token for another audience is refused.
   */
  audience?: string | readonly string[];
  /** Leeway for `exp` and `nbf`, in whole seconds: 0 to 60, default 5. */
  clockToleranceSeconds?: number;
  /** A clock: epoch milliseconds, like `Date.now`. */
  now?: Clock;
}

/** An access token that verified. */
export interface VerifiedAccessToken {
  /** The user: `sub`. */
  subject: string;
  /** The client the token was issued to: `aud` (`ciam`) or `client_id` (`rfc9068`). */
  clientId: string;
  /** The granted scopes, from `scope` (an array in `ciam`, space-separated in `rfc9068`). */
  scopes: string[];
  /** Every claim of the token. */
  claims: JWTPayload;
  /**
   * RFC 9449 §6.1: the JWK SHA-256 thumbprint (RFC 7638) of the key the token is bound to, from
   * `cnf.jkt`; absent for a bearer token. A bound token is usable only with a DPoP proof by that key.
   */
  dpopJkt?: string;
}

/** Why a token was refused, as requireAccessToken's `request_rejected`-style reason. */
export type AccessTokenRejectReason =
  | 'token_malformed'
  | 'algorithm_not_allowed'
  | 'key_unknown'
  | 'signature_invalid'
  | 'type_invalid'
  | 'issuer_invalid'
  | 'audience_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'claims_invalid'
  | 'not_an_access_token'
  | 'token_revoked';

/** The outcome of {@link verifyAccessToken}. */
export type AccessTokenVerification =
  | ({ kind: 'valid' } & VerifiedAccessToken)
  | { kind: 'invalid'; error: 'invalid_token'; reason: AccessTokenRejectReason; description: string }
  | { kind: 'unavailable'; error: 'temporarily_unavailable'; reason: 'key_unavailable'; description: string };

/** The options, checked and settled. */
export interface VerifierConfig {
  keyStore: AnyKeyStore;
  issuer: string;
  format: AccessTokenFormat;
  audience: string | string[] | undefined;
  clockToleranceSeconds: number;
  now: Clock;
}

export const VERIFY_OPTION_NAMES = [
  'keyStore',
  'issuer',
  'accessTokenFormat',
  'audience',
  'clockToleranceSeconds',
  'now',
] as const;

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;
/** A minute: more would keep an expired token alive for a noticeable part of its 300 s. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 60;

/** Check the options an access-token check takes; `owner` names the function for the messages. */
export function resolveVerifierOptions(given: Record<string, unknown>, owner: string): VerifierConfig {
  const keyStore = given.keyStore as AnyKeyStore | undefined;
  if (keyStore === undefined || keyStore === null) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'keyStore',
      `${owner}: option keyStore is required: the router's key store, e.g. the MemoryKeyStore given to createTokenRouter`,
    );
  }
  if (typeof keyStore !== 'object' || typeof keyStore.publicJwks !== 'function') {
    throw invalidOption('keyStore', 'a key store (an object with publicJwks())', keyStore, owner);
  }
  const { issuer } = given;
  if (issuer === undefined || issuer === null) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'issuer',
      `${owner}: option issuer is required: the router's issuer, e.g. "https://login.example.com"`,
    );
  }
  if (typeof issuer !== 'string' || issuer === '')
    throw invalidOption('issuer', "the router's issuer URL", issuer, owner);
  const format = given.accessTokenFormat ?? 'ciam';
  if (!ACCESS_TOKEN_FORMATS.includes(format as AccessTokenFormat)) {
    throw invalidOption('accessTokenFormat', '"ciam" or "rfc9068"', format, owner);
  }
  return {
    keyStore,
    issuer,
    format: format as AccessTokenFormat,
    audience: resolveAudience(given.audience, format as AccessTokenFormat, owner),
    clockToleranceSeconds: resolveTolerance(given.clockToleranceSeconds, owner),
    now: clockOption(given.now, owner),
  };
}

function resolveAudience(value: unknown, format: AccessTokenFormat, owner: string): string[] | undefined {
  if (format === 'ciam') {
    // A ciam token's aud is the client's id (docs/contract.md "Success"): there is no resource audience to check.
    if (value !== undefined) {
      throw invalidOption(
        'audience',
        'left out with accessTokenFormat "ciam" (its aud is the client_id)',
        value,
        owner,
      );
    }
    return undefined;
  }
  if (value === undefined) {
    throw new ConfigurationError(
      'ERR_OPTION_MISSING',
      'audience',
      `${owner}: option audience is required with accessTokenFormat "rfc9068" (RFC 9068 §4): the router's accessTokenAudience, e.g. "https://api.example.com"`,
    );
  }
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((entry) => typeof entry === 'string' && entry !== '')) {
    throw invalidOption('audience', 'a non-empty string or a non-empty array of them', value, owner);
  }
  return [...(list as string[])];
}

function resolveTolerance(value: unknown, owner: string): number {
  if (value === undefined) return DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_CLOCK_TOLERANCE_SECONDS) {
    throw invalidOption(
      'clockToleranceSeconds',
      `a whole number of seconds from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}`,
      value,
      owner,
    );
  }
  return value;
}

const settled = new WeakMap<object, VerifierConfig>();

/**
 * RFC 6750 §3 / RFC 9068 §4: verify `token` as an access token the router issued. Never throws
 * for a bad token (a developer mistake in `options` is a ConfigurationError); the description is
 * fixed text that never holds the token.
 */
export function verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<AccessTokenVerification> {
  let config = settled.get(options);
  if (config === undefined) {
    config = resolveVerifierOptions(
      checkOptionsObject('verifyAccessToken', options, VERIFY_OPTION_NAMES),
      'verifyAccessToken',
    );
    settled.set(options, config);
  }
  return verifyWith(config, token);
}

/** The key getter of jwtVerify over the key store's kept keys, reading them again on a miss. */
function keyGetter(keyStore: AnyKeyStore): JWTVerifyGetKey {
  const keys = publishedKeysOf(keyStore);
  return async (header, token) => {
    const used = keys.fresh() ?? (await keys.current());
    try {
      return await used.resolve(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      const fresh = await keys.afterMiss(used);
      if (fresh === undefined) throw error;
      return fresh.resolve(header, token);
    }
  };
}

const getters = new WeakMap<AnyKeyStore, JWTVerifyGetKey>();

/** RFC 8725 §3.1: only the algorithms the router signs with; never none, never HS256 over a public key. */
const ALGORITHMS: string[] = [...SIGNING_ALGORITHMS];
const REQUIRED_CLAIMS = ['iss', 'sub', 'exp', 'iat', 'jti'];

/** {@link verifyAccessToken} with settled options. */
export async function verifyWith(config: VerifierConfig, token: string): Promise<AccessTokenVerification> {
  let getKey = getters.get(config.keyStore);
  if (getKey === undefined) {
    getKey = keyGetter(config.keyStore);
    getters.set(config.keyStore, getKey);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, getKey, {
      issuer: config.issuer,
      ...(config.audience === undefined ? {} : { audience: config.audience }),
      algorithms: ALGORITHMS,
      // RFC 9068 §4: "typ" must be at+jwt; a ciam token says JWT (docs/contract.md "Success").
      typ: config.format === 'rfc9068' ? 'at+jwt' : 'JWT',
      clockTolerance: config.clockToleranceSeconds,
      currentDate: new Date(config.now()),
      requiredClaims: REQUIRED_CLAIMS,
    }));
  } catch (error) {
    return failureOf(error);
  }
  const shaped = config.format === 'rfc9068' ? rfc9068Token(payload) : ciamToken(payload);
  return shaped.kind === 'valid' ? withConfirmation(shaped) : shaped;
}

/** RFC 7638 §3 with SHA-256: 32 bytes, base64url without padding (RFC 7515 §2), 43 characters. */
const SHA256_THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/**
 * RFC 9449 §6.1: a DPoP-bound token names its key in `cnf.jkt`. A `cnf` that is there but names
 * no such thumbprint is refused rather than read as "not bound": it would turn a bound token into
 * a bearer one.
 */
function withConfirmation(token: { kind: 'valid' } & VerifiedAccessToken): AccessTokenVerification {
  const { cnf } = token.claims;
  if (cnf === undefined) return token;
  const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>).jkt : undefined;
  if (typeof jkt !== 'string' || !SHA256_THUMBPRINT.test(jkt)) {
    return invalid('claims_invalid', 'The access token lacks a claim or has a malformed one');
  }
  return { ...token, dpopJkt: jkt };
}

function invalid(reason: AccessTokenRejectReason, description: string): AccessTokenVerification {
  return { kind: 'invalid', error: 'invalid_token', reason, description };
}

/** jose's refusal as a reason with fixed text (jose's own messages are not passed on). */
function failureOf(error: unknown): AccessTokenVerification {
  if (error instanceof KeyStoreUnavailable) {
    return {
      kind: 'unavailable',
      error: 'temporarily_unavailable',
      reason: 'key_unavailable',
      description: 'The keys to verify the access token with are unavailable; try again later',
    };
  }
  if (error instanceof errors.JWTExpired) return invalid('token_expired', 'The access token expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return invalid('token_not_yet_valid', 'The access token is not valid yet');
    if (error.claim === 'iss') return invalid('issuer_invalid', 'The access token was issued by another issuer');
    if (error.claim === 'aud') return invalid('audience_invalid', 'The access token is for another audience');
    if (error.claim === 'typ') return invalid('type_invalid', 'The token is not an access token of this API');
    return invalid('claims_invalid', 'The access token lacks a claim or has a malformed one');
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return invalid('algorithm_not_allowed', 'The access token is signed with an algorithm this API does not accept');
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return invalid('key_unknown', 'The access token is signed with an unknown key');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalid('signature_invalid', 'The access token signature is invalid');
  }
  return invalid('token_malformed', 'The access token is malformed');
}

/** Claims an ID token has and an access token of the router never does (OIDC Core §2, §3.1.3.6). */
const ID_TOKEN_ONLY_CLAIMS = ['azp', 'nonce', 'at_hash', 'c_hash'] as const;

/**
 * docs/contract.md "Success", the ciam access token: `aud` the client_id (a string), `scope` a
 * JSON array. An ID token shares its typ, iss and aud, but has no `scope` and always an `azp`
 * (OIDC Core §2): it is refused, so it cannot stand in for an access token.
 */
function ciamToken(claims: JWTPayload): AccessTokenVerification {
  const { sub, aud, scope } = claims;
  if (scope === undefined || ID_TOKEN_ONLY_CLAIMS.some((name) => claims[name] !== undefined)) {
    return invalid('not_an_access_token', 'The token is not an access token');
  }
  if (!Array.isArray(scope) || !scope.every((entry) => typeof entry === 'string')) {
    return invalid('claims_invalid', 'The access token lacks a claim or has a malformed one');
  }
  if (typeof aud !== 'string' || aud === '' || typeof sub !== 'string' || sub === '') {
    return invalid('claims_invalid', 'The access token lacks a claim or has a malformed one');
  }
  return { kind: 'valid', subject: sub, clientId: aud, scopes: [...(scope as string[])], claims };
}

/** RFC 9068 §2.2: `client_id` the client, `scope` space-separated (RFC 6749 §3.3). */
function rfc9068Token(claims: JWTPayload): AccessTokenVerification {
  const { sub, client_id: clientId, scope } = claims;
  if (typeof sub !== 'string' || sub === '' || typeof clientId !== 'string' || clientId === '') {
    return invalid('claims_invalid', 'The access token lacks a claim or has a malformed one');
  }
  if (scope !== undefined && typeof scope !== 'string') {
    return invalid('claims_invalid', 'The access token lacks a claim or has a malformed one');
  }
  const scopes = scope === undefined ? [] : scope.split(' ').filter((entry) => entry !== '');
  return { kind: 'valid', subject: sub, clientId, scopes, claims };
}

/** The refresh-token family an access token names (docs/protecting-an-api.md "Revocation"), if any. */
export function refreshFamilyOf(claims: JWTPayload): string | undefined {
  const family = claims[REFRESH_FAMILY_CLAIM];
  return typeof family === 'string' && family !== '' ? family : undefined;
}
