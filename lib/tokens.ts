import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { EpochSeconds, ExtraClaims, SigningKey } from './adapters/interfaces.js';
import { signCompactJws } from './jws.js';

/** Who and what a token response is for: from a redeemed code (or, later, a refresh token). */
export interface TokenSubject {
  clientId: string;
  subject: string;
  scope: readonly string[];
  nonce?: string;
  authTime?: EpochSeconds;
  idTokenClaims?: ExtraClaims;
  accessTokenClaims?: ExtraClaims;
}

/** What the signer needs besides the subject. */
export interface SigningContext {
  issuer: string;
  key: SigningKey;
  /** Issued-at, epoch seconds. */
  iat: EpochSeconds;
  accessTokenTtl: number;
  idTokenTtl: number;
}

export interface SignedTokens {
  accessToken: string;
  /** Present when the scope holds `openid`. */
  idToken: string | undefined;
  /** The access token's `exp`. */
  accessTokenExpiresAt: EpochSeconds;
}

/**
 * Sign the access token and, for `openid`, the ID token, concurrently. Host claims go first, so
 * the registered claims set here always win (SPEC "Success").
 */
export async function signTokens(subject: TokenSubject, context: SigningContext): Promise<SignedTokens> {
  const { issuer, iat } = context;
  const accessTokenExpiresAt = iat + context.accessTokenTtl;
  const accessClaims: JWTPayload = {
    ...subject.accessTokenClaims,
    iss: issuer,
    sub: subject.subject,
    aud: subject.clientId,
    scope: [...subject.scope],
    iat,
    nbf: iat,
    exp: accessTokenExpiresAt,
    jti: randomUUID(),
  };
  const wantsIdToken = subject.scope.includes('openid');
  const [accessToken, idToken] = await Promise.all([
    sign(accessClaims, context.key),
    wantsIdToken ? sign(idTokenClaims(subject, context), context.key) : undefined,
  ]);
  return { accessToken, idToken, accessTokenExpiresAt };
}

/** OIDC Core §2: the ID token's claims. */
function idTokenClaims(subject: TokenSubject, { issuer, iat, idTokenTtl }: SigningContext): JWTPayload {
  const claims: JWTPayload = {
    ...subject.idTokenClaims,
    iss: issuer,
    sub: subject.subject,
    aud: subject.clientId,
    azp: subject.clientId,
    iat,
    exp: iat + idTokenTtl,
    jti: randomUUID(),
  };
  if (subject.nonce !== undefined) claims.nonce = subject.nonce;
  else delete claims.nonce;
  if (subject.authTime !== undefined) claims.auth_time = subject.authTime;
  else delete claims.auth_time;
  return claims;
}

/** RFC 7519 §7.1: a JWT is a JWS over the claims. Signed with node:crypto (see jws.ts for why). */
function sign(claims: JWTPayload, { kid, alg, key }: SigningKey): Promise<string> {
  return signCompactJws({ alg, kid, typ: 'JWT' }, claims, key);
}
