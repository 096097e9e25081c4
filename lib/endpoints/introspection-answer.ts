import type { RouterConfig } from '../config/configuration.js';
import { familyNamedBy, hashSecret } from '../crypto/secrets.js';
import { refreshFamilyOf, type VerifierConfig, verifyWith } from '../resource/verify-access-token.js';
import { guard, RequestError } from '../response/request-error.js';

/*
 * What the introspection endpoint says of a token (RFC 7662 §2.2): `active` and the standard
 * members for an access token or a refresh token this router issued and that can still be used,
 * `{"active": false}` for anything else. Never the token itself, nor anything a token is made of.
 */

/** RFC 7662 §2.2: the introspection response. */
export interface IntrospectionResponse {
  active: boolean;
  /** The scopes, space-separated (RFC 6749 §3.3). */
  scope?: string;
  client_id?: string;
  /** RFC 6749 §5.1's token type: `Bearer`, for access tokens only. */
  token_type?: 'Bearer';
  exp?: number;
  iat?: number;
  nbf?: number;
  sub?: string;
  aud?: string | string[];
  iss?: string;
  jti?: string;
}

/** RFC 7662 §2.2: "If the introspection call is properly authorized but the token is not active … MUST return … {"active": false}". */
const INACTIVE: IntrospectionResponse = { active: false };

/** The router's own access-token check: its issuer, format and audience, no clock leeway. */
export function introspectionVerifier(config: RouterConfig): VerifierConfig {
  const audience = config.accessTokenAudience;
  return {
    keyStore: config.keyStore,
    issuer: config.issuer,
    format: config.accessTokenFormat,
    audience: audience === undefined ? undefined : typeof audience === 'string' ? [audience] : [...audience],
    // The issuer judges its own tokens by its own clock: an expired token is inactive at once.
    clockToleranceSeconds: 0,
    now: config.now,
  };
}

/**
 * RFC 7662 §2.2 for `token`. The `token_type_hint` is only a hint (§2.1: the server "MAY ignore
 * this parameter"): the token's shape says what it is, since a refresh token names its family and
 * an access token is a JWT. A store or key store that fails is a 503, never an inactive answer a
 * resource server would act on.
 */
export async function introspectToken(
  config: RouterConfig,
  verifier: VerifierConfig,
  token: string,
): Promise<IntrospectionResponse> {
  const family = familyNamedBy(token);
  if (family !== undefined) return introspectRefreshToken(config, token, family);
  if (token.split('.').length === 3) return introspectAccessToken(config, verifier, token);
  return INACTIVE;
}

async function introspectAccessToken(
  config: RouterConfig,
  verifier: VerifierConfig,
  token: string,
): Promise<IntrospectionResponse> {
  const verification = await verifyWith(verifier, token);
  if (verification.kind === 'unavailable') throw new RequestError('key_unavailable');
  if (verification.kind === 'invalid') return INACTIVE;
  const { claims } = verification;
  // A revoked refresh-token family revokes the access tokens issued with it
  // (docs/protecting-an-api.md "Revocation"), when the store can tell.
  const familyId = refreshFamilyOf(claims);
  const store = config.refreshTokenStore;
  if (familyId !== undefined && store.isFamilyRevoked !== undefined) {
    const revoked = await guard(
      Promise.resolve().then(() => store.isFamilyRevoked?.(familyId)),
      'store_unavailable',
    );
    if (revoked === true) return INACTIVE;
  }
  const answer: IntrospectionResponse = {
    active: true,
    scope: verification.scopes.join(' '),
    client_id: verification.clientId,
    token_type: 'Bearer',
  };
  if (typeof claims.exp === 'number') answer.exp = claims.exp;
  if (typeof claims.iat === 'number') answer.iat = claims.iat;
  if (typeof claims.nbf === 'number') answer.nbf = claims.nbf;
  answer.sub = verification.subject;
  if (claims.aud !== undefined) answer.aud = claims.aud;
  if (typeof claims.iss === 'string') answer.iss = claims.iss;
  if (typeof claims.jti === 'string') answer.jti = claims.jti;
  return answer;
}

/**
 * A refresh token: looked up without spending it. It is active while it can still be rotated:
 * not spent (a rotated token only triggers reuse detection), not revoked, within its idle and
 * absolute lifetimes by the router's clock. A store without `inspect` cannot say whether a token
 * was spent, so every refresh token is inactive there (docs/machine-clients.md "Introspection").
 */
async function introspectRefreshToken(
  config: RouterConfig,
  token: string,
  familyHint: string,
): Promise<IntrospectionResponse> {
  const store = config.refreshTokenStore;
  if (store.inspect === undefined) return INACTIVE;
  const key = hashSecret(token);
  const found = await guard(
    Promise.resolve().then(() => store.inspect?.(key, familyHint)),
    'store_unavailable',
  );
  if (found === undefined || found.spent) return INACTIVE;
  const { record } = found;
  // A store may answer for a token of another family than the one it names: not this token.
  if (record.familyId !== familyHint) return INACTIVE;
  const exp = Math.min(record.expiresAt ?? record.familyExpiresAt, record.familyExpiresAt);
  if (exp * 1000 <= config.now()) return INACTIVE;
  return {
    active: true,
    scope: record.scope.join(' '),
    client_id: record.clientId,
    exp,
    sub: record.subject,
    iss: config.issuer,
  };
}
