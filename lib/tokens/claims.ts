import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { AnySigningKey, EpochSeconds, ExtraClaims } from '../contracts.js';
import { signCompactJwsExternally } from '../crypto/external-jws.js';
import { signCompactJws } from '../crypto/jws.js';
import { isExternal } from '../crypto/signing-key-check.js';
import { atHash } from './at-hash.js';

/** The access token's shape: the Tencent Cloud CIAM token API's (`ciam`, docs/contract.md
 * "The ciam profile"), or the JWT profile of RFC 9068. */
export type AccessTokenFormat = 'ciam' | 'rfc9068';

export const ACCESS_TOKEN_FORMATS: readonly AccessTokenFormat[] = ['ciam', 'rfc9068'];

/**
 * The access-token claim naming the refresh-token family the token was issued with, so that
 * requireAccessToken's `checkRevocation` can refuse it once the family is revoked
 * (docs/protecting-an-api.md "Revocation"). No secret: a refresh token begins with the same id.
 */
export const REFRESH_FAMILY_CLAIM = 'refresh_family';

/** Who and what a token response is for: from a redeemed code or a rotated refresh token. */
export interface TokenSubject {
  clientId: string;
  subject: string;
  /** The scopes the access token carries. */
  scope: readonly string[];
  /** Only from a code: a refreshed ID token has no nonce (OIDC Core §12.2). */
  nonce?: string;
  authTime?: EpochSeconds;
  acr?: string;
  amr?: readonly string[];
  idTokenClaims?: ExtraClaims;
  accessTokenClaims?: ExtraClaims;
}

/** What the signer needs besides the subject. */
export interface SigningContext {
  issuer: string;
  key: AnySigningKey;
  /** Issued-at, epoch seconds. */
  iat: EpochSeconds;
  accessTokenTtl: number;
  idTokenTtl: number;
  accessTokenFormat: AccessTokenFormat;
  /** The `aud` of `rfc9068` access tokens: the resource server(s). */
  accessTokenAudience: string | readonly string[] | undefined;
  /** Whether the ID token carries `at_hash`. */
  idTokenAtHash: boolean;
  /** The refresh-token family issued beside the tokens: the access token's {@link REFRESH_FAMILY_CLAIM}. */
  refreshFamily: string | undefined;
  /**
   * Whether an ID token is signed when the scope holds `openid`: not for a client credentials
   * token, which is about no user (OIDC Core §2: the ID token is about the End-User's authentication).
   */
  idToken: boolean;
  /** The RFC 7638 thumbprint of the DPoP key the access token is bound to: its `cnf.jkt` (RFC 9449 §6.1). */
  dpopJkt?: string | undefined;
}

export interface SignedTokens {
  accessToken: string;
  /** The access token's `jti`. */
  accessTokenJti: string;
  /** The access token's `exp`. */
  accessTokenExpiresAt: EpochSeconds;
  /** Present when the scope holds `openid`. */
  idToken: string | undefined;
  /** The ID token's `jti`, when there is one. */
  idTokenJti: string | undefined;
}

/**
 * The claims the router sets or deliberately leaves out (RFC 7519 §4.1, OIDC Core §2 and §3.1.3.6,
 * RFC 9068 §2.2, RFC 8693 §4.4 `cnf`/`act`). A host claim of one of these names is dropped, so it
 * can neither override a registered claim nor fill one in the router chose to omit (a `nonce` for a
 * grant without one, say).
 */
const REGISTERED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'azp',
  'nonce',
  'auth_time',
  'acr',
  'amr',
  'at_hash',
  'c_hash',
  's_hash',
  'scope',
  'client_id',
  'cnf',
  'act',
  REFRESH_FAMILY_CLAIM,
]);

/** A host's extra claims without any registered name. */
function hostClaims(extra: ExtraClaims | undefined): JWTPayload {
  const claims: JWTPayload = {};
  for (const [name, value] of Object.entries(extra ?? {})) {
    if (!REGISTERED_CLAIMS.has(name)) claims[name] = value;
  }
  return claims;
}

/** The authentication facts (auth_time, acr, amr) a grant has, for the ID token and RFC 9068. */
function authenticationClaims(subject: TokenSubject): JWTPayload {
  const claims: JWTPayload = {};
  if (subject.authTime !== undefined) claims.auth_time = subject.authTime;
  if (subject.acr !== undefined) claims.acr = subject.acr;
  if (subject.amr !== undefined) claims.amr = [...subject.amr];
  return claims;
}

/**
 * Sign the access token and, for `openid`, the ID token. Host claims go first and never carry a
 * registered name, so the claims set here always win (docs/contract.md "Success").
 */
export async function signTokens(subject: TokenSubject, context: SigningContext): Promise<SignedTokens> {
  const accessTokenExpiresAt = context.iat + context.accessTokenTtl;
  const accessTokenJti = randomUUID();
  const access =
    context.accessTokenFormat === 'rfc9068'
      ? { claims: rfc9068AccessClaims(subject, context, accessTokenExpiresAt, accessTokenJti), typ: 'at+jwt' }
      : { claims: ciamAccessClaims(subject, context, accessTokenExpiresAt, accessTokenJti), typ: 'JWT' };
  const wantsIdToken = context.idToken && subject.scope.includes('openid');
  const idTokenJti = wantsIdToken ? randomUUID() : undefined;
  const signAccess = sign(access.claims, context.key, access.typ);
  let accessToken: string;
  let idToken: string | undefined;
  if (idTokenJti === undefined) {
    accessToken = await signAccess;
  } else if (context.idTokenAtHash) {
    // at_hash needs the finished access token, so the two are signed one after the other.
    accessToken = await signAccess;
    idToken = await sign(
      idTokenClaims(subject, context, idTokenJti, atHash(accessToken, context.key.alg)),
      context.key,
    );
  } else {
    [accessToken, idToken] = await Promise.all([
      signAccess,
      sign(idTokenClaims(subject, context, idTokenJti), context.key),
    ]);
  }
  return { accessToken, accessTokenJti, accessTokenExpiresAt, idToken, idTokenJti };
}

/** docs/contract.md "Success": the access token of the Tencent Cloud CIAM token API. */
function ciamAccessClaims(
  subject: TokenSubject,
  { issuer, iat, refreshFamily, dpopJkt }: SigningContext,
  exp: EpochSeconds,
  jti: string,
): JWTPayload {
  return {
    ...hostClaims(subject.accessTokenClaims),
    iss: issuer,
    sub: subject.subject,
    aud: subject.clientId,
    scope: [...subject.scope],
    iat,
    nbf: iat,
    exp,
    jti,
    ...familyClaim(refreshFamily),
    ...confirmationClaim(dpopJkt),
  };
}

/** RFC 9449 §6.1: a DPoP-bound access token names its key, `cnf: { jkt }` (RFC 7800 §3.1). */
function confirmationClaim(dpopJkt: string | undefined): JWTPayload {
  return dpopJkt === undefined ? {} : { cnf: { jkt: dpopJkt } };
}

function familyClaim(refreshFamily: string | undefined): JWTPayload {
  return refreshFamily === undefined ? {} : { [REFRESH_FAMILY_CLAIM]: refreshFamily };
}

/** RFC 9068 §2.2: `aud` is the resource, `client_id` the client, `scope` space-separated. */
function rfc9068AccessClaims(
  subject: TokenSubject,
  context: SigningContext,
  exp: EpochSeconds,
  jti: string,
): JWTPayload {
  const audience = context.accessTokenAudience;
  return {
    ...hostClaims(subject.accessTokenClaims),
    iss: context.issuer,
    exp,
    aud: typeof audience === 'string' ? audience : [...(audience ?? [])],
    sub: subject.subject,
    client_id: subject.clientId,
    iat: context.iat,
    jti,
    ...authenticationClaims(subject),
    scope: subject.scope.join(' '),
    ...familyClaim(context.refreshFamily),
    ...confirmationClaim(context.dpopJkt),
  };
}

/** OIDC Core §2: the ID token's claims; §3.1.3.6 `at_hash` when asked for. */
function idTokenClaims(
  subject: TokenSubject,
  { issuer, iat, idTokenTtl }: SigningContext,
  jti: string,
  accessTokenHash?: string,
): JWTPayload {
  const claims: JWTPayload = {
    ...hostClaims(subject.idTokenClaims),
    iss: issuer,
    sub: subject.subject,
    aud: subject.clientId,
    azp: subject.clientId,
    iat,
    exp: iat + idTokenTtl,
    jti,
    ...authenticationClaims(subject),
  };
  if (subject.nonce !== undefined) claims.nonce = subject.nonce;
  if (accessTokenHash !== undefined) claims.at_hash = accessTokenHash;
  return claims;
}

/**
 * RFC 7519 §7.1: a JWT is a JWS over the claims. Signed with node:crypto (see jws.ts for why), or
 * by an external signer (external-jws.ts), whose signature is checked before it is used.
 */
function sign(claims: JWTPayload, signing: AnySigningKey, typ = 'JWT'): Promise<string> {
  const header = { alg: signing.alg, kid: signing.kid, typ };
  return isExternal(signing)
    ? signCompactJwsExternally(header, claims, signing)
    : signCompactJws(header, claims, signing.key);
}
